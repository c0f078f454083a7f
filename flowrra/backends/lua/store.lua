-- store: write a batch of results, move their index entries, and tell whoever waits for a
-- final one. Index entries move in one ZREM/ZADD per status for the whole batch.
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: ttl, seconds a stored result is kept
-- ARGV[3]: n, the number of results (at most STORE_BATCH in flowrra/backends/redis.py)
-- ARGV[4..]: n times (id, status, score, task name, result JSON); the name matters only
--            for a pending result (the by-name index)
-- ARGV[4 + 5n], optional, a worker's write: the broker's key prefix B (on the same server,
--            and on a cluster the same hash tag), its consumer id, the epoch the worker
--            writes under (see retire in flowrra/brokers/lua/prelude.lua), then delivery
--            tags to delete from B:held:<consumer> once the results are stored (the
--            acknowledgement of their messages)
--
-- A worker's write under an epoch that is no longer its consumer's was sent before its lease
-- ran out and what it held went to other workers (a write delivered late, once a network
-- partition healed): each of its results is checked against the stored one, which stays
-- when it is the final result of another worker's run that started later (the rule of
-- flowrra_django's _later_final_run). Otherwise (one GET) nothing is read.
--
-- Returns: 1
local ttl = tonumber(ARGV[2])
local last, scores, order, done, done_ids = {}, {}, {}, {}, {}
local after = 4 + 5 * tonumber(ARGV[3])
local B = ARGV[after]

-- The Unix time of an ISO 8601 time as Python writes it
-- (YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM]); nil for anything else.
local function seconds(iso)
  if type(iso) ~= 'string' then return nil end
  local y, m, d, hh, mm, ss, zone =
    string.match(iso, '^(%d%d%d%d)-(%d%d)-(%d%d)T(%d%d):(%d%d):(%d%d%.?%d*)(.*)$')
  if y == nil then return nil end
  y, m = tonumber(y), tonumber(m)
  if m <= 2 then y = y - 1 end -- days from the civil date (H. Hinnant's algorithm)
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + tonumber(d) - 1
  local days = era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
    - 719468
  local offset, sign, oh, om = 0, string.match(zone, '^([+-])(%d%d):(%d%d)')
  if sign then offset = (sign == '-' and -60 or 60) * (tonumber(oh) * 60 + tonumber(om)) end
  return days * 86400 + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss) - offset
end

local function decoded(json)
  local ok, record = pcall(cjson.decode, json)
  if ok and type(record) == 'table' then return record end
  return nil
end

-- The stored result of id stays against json, a late write: it is final, from another
-- worker, and its run started after the run writing (both start times known).
local function later_final_run(id, json)
  local stored = redis.call('GET', P .. ':result:' .. id)
  local old, new = stored and decoded(stored), decoded(json)
  if not (old and new and FINAL[old.status]) then return false end
  local worker = old.worker
  if type(worker) ~= 'string' or worker == '' or type(new.worker) ~= 'string'
      or new.worker == '' or worker == new.worker then
    return false
  end
  local began, begins = seconds(old.started_at), seconds(new.started_at)
  return began ~= nil and begins ~= nil and began > begins
end

local late = B ~= nil
  and (redis.call('GET', B .. ':epoch:' .. ARGV[after + 1]) or '0') ~= ARGV[after + 2]
for j = 4, after - 1, 5 do
  local id, status, score, json = ARGV[j], ARGV[j + 1], ARGV[j + 2], ARGV[j + 4]
  if not (late and later_final_run(id, json)) then
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
if ARGV[after + 3] then
  redis.call('HDEL', B .. ':held:' .. ARGV[after + 1], unpack(ARGV, after + 3))
end
return 1
