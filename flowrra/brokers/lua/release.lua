-- release: give held deliveries of a consumer back to the head of their queues (or to a
-- consumer sleeping on them), oldest delivery first.
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: consumer id
-- ARGV[3..]: delivery tags
--
-- Returns: how many deliveries were still held and given back
local held, entries = P .. ':held:' .. ARGV[2], {}
for j = 3, #ARGV do
  local v = redis.call('HGET', held, ARGV[j])
  if v then entries[#entries + 1] = {tonumber(ARGV[j]), v} end
end
return requeue(ARGV[2], entries, now_s())
