-- KEYS: pause, strikes. ARGV: retry-after ms or 0.
local strikes = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], 120000)
local ms = tonumber(ARGV[1])
if ms == 0 then ms = 1000 * 2 ^ math.min(strikes - 1, 5) end
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return ms
