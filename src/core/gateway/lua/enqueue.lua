-- KEYS: queue, vt, slots. ARGV: member, client, max, wait ms, step ms, the
-- window's limit. The member is stored as member|deadline; each client's creates
-- are spaced by step in virtual time, so the queue takes clients in turn. The
-- queue is full at max beyond the window's free slots (a burst the window takes
-- at once is no queue). Returns {1, length} or {0, length}.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local max = tonumber(ARGV[3]) + math.max(0, tonumber(ARGV[6]) - redis.call('ZCARD', KEYS[3]))
local length = redis.call('ZCARD', KEYS[1])
if length >= max then
  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local deadline = string.match(m, '|(%d+)$')
    if not deadline or tonumber(deadline) < now then redis.call('ZREM', KEYS[1], m) end
  end
  length = redis.call('ZCARD', KEYS[1])
  if length >= max then return {0, length} end
end
local vt = math.max(now, tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or 0)) + tonumber(ARGV[5])
redis.call('HSET', KEYS[2], ARGV[2], vt)
redis.call('PEXPIRE', KEYS[2], 3600000)
redis.call('ZADD', KEYS[1], vt, ARGV[1] .. '|' .. (now + tonumber(ARGV[4])))
return {1, length + 1}
