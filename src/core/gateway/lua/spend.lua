-- A create's price reserved in every spend window it falls in, or in none.
-- KEYS: the windows' counters. ARGV: amount, then limit and ttl ms per key.
-- Returns 0 (added to every counter) or the 1-based index of the window it would overrun.
local amount = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local spent = tonumber(redis.call('GET', key) or 0)
  if spent + amount > tonumber(ARGV[2 * i]) then return i end
end
for i, key in ipairs(KEYS) do
  redis.call('INCRBY', key, amount)
  redis.call('PEXPIRE', key, ARGV[2 * i + 1])
end
return 0
