-- Helpers shared by every script of the Redis broker; the loader puts this file in front of
-- each script. Every script's ARGV[1] is the key prefix P (see flowrra/brokers/redis_scripts.py
-- for the keys under it), and every key it touches is P followed by ':...'. On a Redis Cluster
-- P carries a hash tag, so all of them are in the slot of KEYS[1] (P itself), where the call
-- is sent.
--
-- Dead-letter bounds are read from the hash P:dead:limits (fields count, bytes, message),
-- which every heartbeat writes; while it is missing (before the first heartbeat), a
-- dead letter is kept whole and nothing is dropped to make room.

local P = ARGV[1]

-- Seconds a consumer's epoch (P:epoch:<consumer>) is kept after its lease last ran out or it
-- last beat: a write it sent before that long a stop is no longer told apart from its own.
local EPOCH_KEEP = 7 * 86400

local function now_s()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local function held_value(deadline, now, q, lvl, msg)
  return string.format('%.3f|%.3f|', deadline, now) .. q .. '|' .. lvl .. '|' .. msg
end

local function split_held(v)
  return string.match(v, '^([^|]*)|([^|]*)|([^|]*)|(%d)|(.*)$')
end

-- Set a message aside with the reason; the list is bounded by count and by bytes.
local function bury(reason, q, lvl, msg, now)
  local limits = redis.call('HMGET', P .. ':dead:limits', 'count', 'bytes', 'message')
  local max_count = tonumber(limits[1]) or math.huge
  local max_bytes = tonumber(limits[2]) or math.huge
  local max_message = tonumber(limits[3]) or math.huge
  local truncated = #msg > max_message
  if truncated then msg = string.sub(msg, 1, max_message) end
  local id = redis.call('INCR', P .. ':dead:seq')
  local record = cjson.encode({id = id, reason = reason, queue = q or '',
    priority = tonumber(lvl) or 0, message = msg, at = now, truncated = truncated})
  redis.call('HSET', P .. ':dead:items', id, record)
  redis.call('ZADD', P .. ':dead:ids', id, id)
  local total = redis.call('INCRBY', P .. ':dead:bytes', #record)
  while redis.call('ZCARD', P .. ':dead:ids') > max_count or total > max_bytes do
    local oldest = redis.call('ZPOPMIN', P .. ':dead:ids')
    if #oldest == 0 then break end
    local gone = redis.call('HGET', P .. ':dead:items', oldest[1])
    redis.call('HDEL', P .. ':dead:items', oldest[1])
    if gone then total = redis.call('DECRBY', P .. ':dead:bytes', #gone) end
  end
end

-- Take one live sleeping consumer of queue q off its sleepers hash: its id and visibility
-- timeout. Stale entries (past their time, lease run out, malformed) are dropped on the way.
local function pop_sleeper(q, now)
  local key = P .. ':sleepers:' .. q
  for _ = 1, 50 do
    local pick = redis.call('HRANDFIELD', key, 1, 'WITHVALUES')
    if #pick == 0 then return nil end
    redis.call('HDEL', key, pick[1])
    local vt, untl = string.match(pick[2], '^([^|]+)|([^|]+)$')
    vt, untl = tonumber(vt), tonumber(untl)
    if vt and untl and vt > 0 and untl > now then
      local lease = tonumber(redis.call('ZSCORE', P .. ':leases', pick[1]))
      if lease == nil or lease > now then return pick[1], vt end
    end
  end
  return nil
end

local function push_wake(c, item)
  local k = P .. ':wake:' .. c
  redis.call('RPUSH', k, item)
  redis.call('EXPIRE', k, 60)
end

-- A due message goes straight to a sleeping consumer if there is one, else to its list.
local function deliver(q, lvl, msg, now, front)
  local c, vt = pop_sleeper(q, now)
  if c == nil then
    redis.call(front and 'LPUSH' or 'RPUSH', P .. ':q:' .. q .. ':' .. lvl, msg)
    return
  end
  local tag = redis.call('INCR', P .. ':seq')
  redis.call('HSET', P .. ':held:' .. c, tag, held_value(now + vt, now, q, lvl, msg))
  redis.call('ZADD', P .. ':due', 'LT', now + vt, c)
  redis.call('ZADD', P .. ':leases', 'NX', now + 60, c)
  push_wake(c, tag .. '|' .. msg)
end

-- Wake one sleeper of q without a message (a sooner delayed message: it recomputes its wait).
local function poke(q, now)
  local c = pop_sleeper(q, now)
  if c then push_wake(c, '1') end
end

-- Give held entries {tag, value} of a consumer back, oldest delivery first at the head.
local function requeue(consumer, entries, now)
  if #entries == 0 then return 0 end
  table.sort(entries, function(a, b) return a[1] > b[1] end)
  local held = P .. ':held:' .. consumer
  for _, e in ipairs(entries) do
    local _, _, q, lvl, msg = split_held(e[2])
    redis.call('HDEL', held, e[3] or e[1])
    if q == nil then
      bury('malformed held entry: expected <deadline>|<fetched>|<queue>|<priority>|<message>',
        nil, nil, e[2], now)
    else
      deliver(q, lvl, msg, now, true)
    end
  end
  return #entries
end

local function held_entries(consumer)
  local flat = redis.call('HGETALL', P .. ':held:' .. consumer)
  local entries = {}
  for j = 1, #flat, 2 do entries[#entries + 1] = {tonumber(flat[j]) or 0, flat[j + 1], flat[j]} end
  return entries
end

-- Give back everything a consumer holds and drop its lease, sleeper entries and wake list.
-- A consumer whose lease ran out (lapsed) moves to its next epoch: a result write it sent
-- before (still on its way) names the epoch before and is checked by the result store's
-- script against the result of the worker that takes its messages over. A consumer that
-- stops loses its epoch.
local function retire(consumer, now, lapsed)
  for _, q in ipairs(redis.call('SMEMBERS', P .. ':queues')) do
    redis.call('HDEL', P .. ':sleepers:' .. q, consumer)
  end
  local moved = requeue(consumer, held_entries(consumer), now)
  local epoch = P .. ':epoch:' .. consumer
  redis.call('DEL', P .. ':held:' .. consumer, P .. ':wake:' .. consumer)
  redis.call('ZREM', P .. ':leases', consumer)
  redis.call('ZREM', P .. ':due', consumer)
  if lapsed then
    redis.call('INCR', epoch)
    redis.call('EXPIRE', epoch, EPOCH_KEEP)
  else
    redis.call('DEL', epoch)
  end
  return moved
end

-- Consumers whose lease ran out lose everything they held; live ones lose what they held
-- past its visibility deadline.
local function reclaim(now)
  local moved = 0
  for _, c in ipairs(redis.call('ZRANGEBYSCORE', P .. ':leases', '-inf', now, 'LIMIT', 0, 20)) do
    moved = moved + retire(c, now, true)
  end
  for _, c in ipairs(redis.call('ZRANGEBYSCORE', P .. ':due', '-inf', now, 'LIMIT', 0, 20)) do
    local overdue, earliest = {}, nil
    for _, e in ipairs(held_entries(c)) do
      local deadline = tonumber(string.match(e[2], '^([^|]*)|'))
      if deadline == nil or deadline <= now then
        overdue[#overdue + 1] = e
      elseif earliest == nil or deadline < earliest then
        earliest = deadline
      end
    end
    moved = moved + requeue(c, overdue, now)
    if earliest then
      redis.call('ZADD', P .. ':due', earliest, c)
    else
      redis.call('ZREM', P .. ':due', c)
    end
  end
  return moved
end
