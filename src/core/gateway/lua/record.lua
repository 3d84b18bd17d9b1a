-- KEYS: slots. ARGV: pairs of (ms from now, member), each added with that score.
for i = 1, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[i]), ARGV[i + 1])
end
return 1
