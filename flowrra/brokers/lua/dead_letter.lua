-- dead_letter: move held deliveries of a consumer to the dead letters, each with its reason
-- (bounded by P:dead:limits, see bury() in the prelude).
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: consumer id
-- ARGV[3..]: (delivery tag, reason) pairs
--
-- Returns: how many deliveries were still held and moved
local held, now, moved = P .. ':held:' .. ARGV[2], now_s(), 0
for j = 3, #ARGV, 2 do
  local v = redis.call('HGET', held, ARGV[j])
  if v then
    local _, _, q, lvl, msg = split_held(v)
    redis.call('HDEL', held, ARGV[j])
    bury(ARGV[j + 1], q, lvl, msg or v, now)
    moved = moved + 1
  end
end
return moved
