-- A run's new state, as both runbase-server and the package's server entry write it: the
-- state, its owner (written with every state, to live as long), and while it is not finished
-- its meta and its place among the runs followed (so an instance takes over polling it), or
-- once finished neither; then the announcement that wakes the other instances.
-- KEYS: run, owner, meta, followed. ARGV: state JSON, owner or "", finished (1/0), meta or "",
-- ttl ms, run id, the channel.
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[5])
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[5]) end
if ARGV[3] == '1' then
  redis.call('SREM', KEYS[4], ARGV[6])
  redis.call('DEL', KEYS[3])
else
  if ARGV[4] ~= '' then redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[5]) end
  redis.call('SADD', KEYS[4], ARGV[6])
end
redis.call('PUBLISH', ARGV[7], ARGV[6])
return 1
