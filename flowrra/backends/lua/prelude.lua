-- Helpers shared by every script of the Redis result backend; the loader puts this file in
-- front of each script. ARGV[1] is always the key prefix P (flowrra/backends/redis.py
-- lists the keys under it); KEYS[1] is P itself, unread: it names the cluster slot.

local P = ARGV[1]

-- Every task status as stored, and the final ones (flowrra.task.TaskStatus and FINAL_STATES;
-- tests/core/redis/test_backend.py checks that they agree).
local statuses = {'pending', 'running', 'success', 'failed', 'retrying', 'revoked'}
local FINAL = {success = true, failed = true, revoked = true}

-- Removes the index entries of results submitted more than ttl seconds ago (their stored
-- result has expired, save for a task stored again after that long: it stays readable by id).
local function prune(ttl)
  local t = redis.call('TIME')
  local horizon = tonumber(t[1]) + tonumber(t[2]) / 1000000 - ttl
  for _, s in ipairs(statuses) do
    redis.call('ZREMRANGEBYSCORE', P .. ':status:' .. s, '-inf', horizon)
  end
  for _, name in ipairs(redis.call('SMEMBERS', P .. ':names')) do
    local key = P .. ':name:' .. name
    redis.call('ZREMRANGEBYSCORE', key, '-inf', horizon)
    if redis.call('EXISTS', key) == 0 then redis.call('SREM', P .. ':names', name) end
  end
end

-- Tells the processes waiting for any of ids (their tokens in P:waiters:<id>) that its final
-- result, done[id], is stored: one EXISTS for the whole batch, then the JSON pushed on each
-- waiting process's P:notify:<token> list.
local function notify(done, ids)
  if #ids == 0 then return end
  local keys = {}
  for i, id in ipairs(ids) do keys[i] = P .. ':waiters:' .. id end
  if redis.call('EXISTS', unpack(keys)) == 0 then return end
  for i, id in ipairs(ids) do
    local tokens = redis.call('SMEMBERS', keys[i])
    for _, token in ipairs(tokens) do
      local nkey = P .. ':notify:' .. token
      redis.call('RPUSH', nkey, done[id])
      redis.call('EXPIRE', nkey, 60)
    end
    if #tokens > 0 then redis.call('DEL', keys[i]) end
  end
end
