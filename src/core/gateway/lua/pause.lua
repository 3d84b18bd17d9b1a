-- KEYS: pause, strikes. ARGV: retry-after ms or 0.
local strikes = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], 120000)
local ms = tonumber(ARGV[1])
-- The client's back-off after a 429 without Retry-After (policy::rate_limit_backoff_ms,
-- without jitter: one pause for every instance); a test holds the two equal.
if ms == 0 then ms = math.min(1000 * 2 ^ (strikes - 1), 30000) end
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return ms
