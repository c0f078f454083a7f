-- enqueue: add a batch of messages to their queues, or to the delayed set when they are due
-- later. A due message goes straight to a consumer sleeping on its queue when there is one.
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: n, the number of messages
-- ARGV[3..]: n times (queue, priority 0-9, ETA in Unix seconds or '', message)
--
-- Returns: n
local now, n = now_s(), tonumber(ARGV[2])
local seen = {}
for i = 0, n - 1 do
  local q, lvl, eta, msg = ARGV[3 + 4 * i], ARGV[4 + 4 * i], ARGV[5 + 4 * i], ARGV[6 + 4 * i]
  if eta ~= '' and tonumber(eta) > now then
    local first = redis.call('ZRANGE', P .. ':delayed', 0, 0, 'WITHSCORES')
    redis.call('ZADD', P .. ':delayed', eta, q .. '|' .. lvl .. '|' .. msg)
    if first[2] == nil or tonumber(eta) < tonumber(first[2]) then poke(q, now) end
  else
    deliver(q, lvl, msg, now, false)
  end
  if not seen[q] then
    seen[q] = true
    redis.call('SADD', P .. ':queues', q)
  end
end
return n
