-- KEYS: followed. ARGV: the lease keys' prefix. The ids without a lease.
local orphans = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. id) == 0 then table.insert(orphans, id) end
end
return orphans
