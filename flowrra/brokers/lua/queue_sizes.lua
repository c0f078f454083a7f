-- queue_sizes: the number of waiting messages of every known queue, all priorities.
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
--
-- Returns: {queue, waiting count, queue, waiting count, ...}
local out = {}
for _, q in ipairs(redis.call('SMEMBERS', P .. ':queues')) do
  local total = 0
  for level = 0, 9 do total = total + redis.call('LLEN', P .. ':q:' .. q .. ':' .. level) end
  out[#out + 1] = q
  out[#out + 1] = total
end
return out
