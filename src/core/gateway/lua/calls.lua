-- One caller's requests in a sliding window, as core::window::SlidingWindow counts them.
-- KEYS: the caller's window (request times). ARGV: limit, window ms, member.
-- Returns 0 (counted) or the ms until a request leaves the window (not counted).
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(first[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
