-- KEYS: slots, strikes. ARGV: member, hold ms, ok (1/0).
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
if ARGV[3] == '1' then redis.call('DEL', KEYS[2]) end
return 1
