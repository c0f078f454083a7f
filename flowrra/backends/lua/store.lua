-- store: write a batch of results, move their index entries, and tell whoever waits for a
-- final one. Index entries move in one ZREM/ZADD per status for the whole batch.
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: ttl, seconds a stored result is kept
-- ARGV[3]: n, the number of results (at most STORE_BATCH in flowrra/backends/redis.py)
-- ARGV[4..]: n times (id, status, score, task name, result JSON); the name matters only
--            for a pending result (the by-name index)
-- ARGV[4 + 5n], optional: a hash key, then its fields to delete once the results are
--            stored (a broker's acknowledgement of their messages)
--
-- Returns: 1
local ttl = tonumber(ARGV[2])
local last, scores, order, done, done_ids = {}, {}, {}, {}, {}
local after = 4 + 5 * tonumber(ARGV[3])
for j = 4, after - 1, 5 do
  local id, status, score, json = ARGV[j], ARGV[j + 1], ARGV[j + 2], ARGV[j + 4]
  redis.call('SET', P .. ':result:' .. id, json, 'EX', ttl)
  if last[id] == nil then order[#order + 1] = id end
  last[id], scores[id] = status, score
  if status == 'pending' and ARGV[j + 3] ~= '' then
    if redis.call('ZADD', P .. ':name:' .. ARGV[j + 3], score, id) == 1 then
      redis.call('SADD', P .. ':names', ARGV[j + 3])
    end
  elseif FINAL[status] then
    if done[id] == nil then done_ids[#done_ids + 1] = id end
    done[id] = json
  end
end
local groups = {}
for _, id in ipairs(order) do
  local ids = groups[last[id]]
  if ids == nil then
    ids = {}
    groups[last[id]] = ids
  end
  ids[#ids + 1] = id
end
for status, ids in pairs(groups) do
  local scored = {}
  for _, id in ipairs(ids) do
    scored[#scored + 1] = scores[id]
    scored[#scored + 1] = id
  end
  for _, s in ipairs(statuses) do
    if s ~= status then redis.call('ZREM', P .. ':status:' .. s, unpack(ids)) end
  end
  redis.call('ZADD', P .. ':status:' .. status, unpack(scored))
end
notify(done, done_ids)
if #done_ids > 0 and redis.call('SET', P .. ':pruned', 1, 'PX', 1000, 'NX') then prune(ttl) end
if ARGV[after] then redis.call('HDEL', ARGV[after], unpack(ARGV, after + 1)) end
return 1
