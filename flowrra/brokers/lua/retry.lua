-- retry: acknowledge a delivery and enqueue its next attempt, only if the delivery is still
-- held (a message reclaimed meanwhile runs again as it is, and must not run twice more).
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: consumer id
-- ARGV[3]: delivery tag
-- ARGV[4]: queue of the next attempt
-- ARGV[5]: its priority 0-9
-- ARGV[6]: its ETA in Unix seconds, or ''
-- ARGV[7]: its message
--
-- Returns: 1 if the delivery was held and the attempt enqueued, else 0
if redis.call('HDEL', P .. ':held:' .. ARGV[2], ARGV[3]) == 0 then return 0 end
local now, q, lvl, eta, msg = now_s(), ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if eta ~= '' and tonumber(eta) > now then
  redis.call('ZADD', P .. ':delayed', eta, q .. '|' .. lvl .. '|' .. msg)
  poke(q, now)
else
  deliver(q, lvl, msg, now, false)
end
return 1
