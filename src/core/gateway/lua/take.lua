-- KEYS: slots, pause, queue, instances. ARGV: limit, lease ms, member, queued
-- member or "", alive ms, what (create, poll, urgent or spare). Returns {1, 0}
-- granted or {0, ms to wait}.
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return {0, paused} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
-- As in one instance: a poll lets the creates waiting anywhere go first, unless it has
-- waited too long ('urgent'); a spare request (a run's progress) never goes before them.
if ARGV[6] == 'poll' then free = free - redis.call('ZCARD', KEYS[3]) end
if ARGV[6] == 'spare' and redis.call('ZCARD', KEYS[3]) > 0 then free = 0 end
if free <= 0 then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if not first[2] then return {0, 100} end
  return {0, math.max(1, math.min(250, tonumber(first[2]) - now))}
end
if ARGV[4] ~= '' then
  -- Only other instances' creates count as ahead: an instance orders its own.
  local mine = string.match(ARGV[4], '^(.*):%d+$')
  local ahead = redis.call('ZRANGE', KEYS[3], 0, -1)
  local rank = 0
  local behind = false
  for _, m in ipairs(ahead) do
    local inst, deadline = string.match(m, '^(.*):%d+|(%d+)$')
    local seen = inst and redis.call('ZSCORE', KEYS[4], inst)
    if not deadline or tonumber(deadline) < now or not seen or tonumber(seen) + tonumber(ARGV[5]) < now then
      redis.call('ZREM', KEYS[3], m)
    elseif string.sub(m, 1, #ARGV[4] + 1) == ARGV[4] .. '|' then
      redis.call('ZREM', KEYS[3], m)
      break
    elseif inst ~= mine then
      rank = rank + 1
      if rank >= free then
        behind = true
        break
      end
    end
  end
  -- Not in the queue at all (dropped while its instance was out of touch): it goes now.
  if behind then return {0, 100} end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
return {1, 0}
