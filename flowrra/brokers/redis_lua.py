"""The Lua scripts of the Redis broker. Each runs atomically on the server, so one round trip
does a whole step (enqueue a batch, fetch a batch, requeue a dead worker's messages) and no
two workers can both take, promote or reclaim the same message.

Keys, all under the prefix ``P`` (``flowrra`` by default):

``P:q:<queue>:<priority>``  list of waiting messages (JSON), RPUSH at the tail, LPOP at the head
``P:delayed``               zset ``<queue>|<priority>|<message>`` scored by its ETA
``P:held:<consumer>``       hash tag -> ``<deadline>|<fetched>|<queue>|<priority>|<message>``
``P:due``                   zset consumer -> earliest visibility deadline it may hold
``P:leases``                zset consumer -> when its lease (heartbeat) runs out
``P:sleepers:<queue>``      hash consumer -> ``<visibility timeout>|<asleep until>``, for
                            consumers that found the queue empty and block on their wake list
                            (an entry past its time, or of a consumer whose lease ran out, is
                            stale: that consumer died or stopped waiting)
``P:wake:<consumer>``       list a sleeping consumer BLPOPs: ``<tag>|<message>`` hand-offs, or
                            ``1`` (look again)
``P:revoked``, ``P:revoked:v``  zset of revoked task ids, and its change counter
``P:dead:ids``, ``P:dead:items``, ``P:dead:bytes``, ``P:dead:seq``  dead letters: zset of
                            ids by age, hash id -> JSON record {id, reason, queue, priority,
                            message, at, truncated}, their total size, the id counter
``P:dead:limits``           hash count/bytes/message: the bounds (the broker writes them)
``P:workers``, ``P:worker:<id>``  live worker ids and their heartbeat info
``P:queues``                set of every queue name used
``P:seq``                   delivery tag counter

A message for a queue with a sleeping consumer is handed to it directly (held for it and
pushed on its wake list), which saves the idle worker a round trip. Time is the server's
(``TIME``), so workers on hosts with skewed clocks agree on leases and deadlines.
"""

from __future__ import annotations

#: The scripts below, by name.
SCRIPTS = (
    "ENQUEUE",
    "FETCH",
    "RETRY",
    "DEAD_LETTER",
    "RELEASE",
    "HEARTBEAT",
    "RETIRE",
    "LIST_WORKERS",
    "QUEUE_SIZES",
    "REQUEUE_DEAD",
    "DELETE_DEAD",
)

#: Dead letters kept, by count and by total bytes; the oldest go first.
DEAD_LETTER_LIMIT = 10_000
DEAD_LETTER_BYTES = 64 * 1024 * 1024
#: A dead-lettered message longer than this keeps only its start (it can then not be requeued).
DEAD_MESSAGE_BYTES = 1024 * 1024
#: How long past its announced wake-up a sleeping consumer's entry stays valid, in seconds.
SLEEPER_SLACK = 1.0

#: Shared helpers; ARGV[1] is always the key prefix.
_PRELUDE = """
local P = ARGV[1]
local SLEEPER_SLACK = @SLEEPER_SLACK
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
  local max_count = tonumber(limits[1]) or @DEAD_LETTER_LIMIT
  local max_bytes = tonumber(limits[2]) or @DEAD_LETTER_BYTES
  local max_message = tonumber(limits[3]) or @DEAD_MESSAGE_BYTES
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
local function retire(consumer, now)
  for _, q in ipairs(redis.call('SMEMBERS', P .. ':queues')) do
    redis.call('HDEL', P .. ':sleepers:' .. q, consumer)
  end
  local moved = requeue(consumer, held_entries(consumer), now)
  redis.call('DEL', P .. ':held:' .. consumer, P .. ':wake:' .. consumer)
  redis.call('ZREM', P .. ':leases', consumer)
  redis.call('ZREM', P .. ':due', consumer)
  return moved
end
-- Consumers whose lease ran out lose everything they held; live ones lose what they held
-- past its visibility deadline.
local function reclaim(now)
  local moved = 0
  for _, c in ipairs(redis.call('ZRANGEBYSCORE', P .. ':leases', '-inf', now, 'LIMIT', 0, 20)) do
    moved = moved + retire(c, now)
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
"""

for _name, _value in {
    "@DEAD_LETTER_LIMIT": DEAD_LETTER_LIMIT,
    "@DEAD_LETTER_BYTES": DEAD_LETTER_BYTES,
    "@DEAD_MESSAGE_BYTES": DEAD_MESSAGE_BYTES,
    "@SLEEPER_SLACK": SLEEPER_SLACK,
}.items():
    _PRELUDE = _PRELUDE.replace(_name, repr(_value))

#: ARGV: prefix, n, then n times (queue, priority, eta or '', message).
ENQUEUE = (
    _PRELUDE
    + """
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
"""
)

#: ARGV: prefix, consumer, max count, seconds it will sleep if nothing is found (0: it will
#: not, so it does not register as a sleeper), unregister (0/1), default
#: lease, default visibility timeout, every queue (0/1), then (queue, visibility timeout)
#: pairs: the queues to take from, or with "every queue" only the overrides.
#: Returns {revoked version, next delayed ETA or '', tag, message, tag, message, ...}.
FETCH = (
    _PRELUDE
    + """
local me, want = ARGV[2], tonumber(ARGV[3])
local queues, vts = {}, {}
for j = 9, #ARGV, 2 do
  queues[#queues + 1] = ARGV[j]
  vts[ARGV[j]] = tonumber(ARGV[j + 1])
end
if ARGV[8] == '1' then
  queues = redis.call('SMEMBERS', P .. ':queues')
  table.sort(queues)
end
local now = now_s()
local held = P .. ':held:' .. me
local out = {redis.call('GET', P .. ':revoked:v') or '0', ''}
if ARGV[5] == '1' then
  for _, q in ipairs(queues) do redis.call('HDEL', P .. ':sleepers:' .. q, me) end
end

-- Messages handed to this consumer while it slept (and not reclaimed since) come first.
local handed = redis.call('LPOP', P .. ':wake:' .. me, want)
if handed then
  for _, item in ipairs(handed) do
    local tag, msg = string.match(item, '^(%d+)|(.*)$')
    if tag and redis.call('HEXISTS', held, tag) == 1 then
      out[#out + 1] = tonumber(tag)
      out[#out + 1] = msg
    end
  end
end

-- Due delayed messages join their queues; the script is atomic, so each moves exactly once.
-- Every entry is read before anything is written, and a malformed one is dead-lettered, so
-- an error can never leave some moved and the rest to be moved again by the next fetch.
local due = redis.call('ZRANGEBYSCORE', P .. ':delayed', '-inf', now, 'LIMIT', 0, 500)
if #due > 0 then
  local parsed = {}
  for i, member in ipairs(due) do
    local q, lvl, msg = string.match(member, '^([A-Za-z0-9_.:-]+)|(%d)|(.+)$')
    parsed[i] = {q, lvl, msg}
  end
  redis.call('ZREM', P .. ':delayed', unpack(due))
  for i, member in ipairs(due) do
    local q, lvl, msg = parsed[i][1], parsed[i][2], parsed[i][3]
    if q == nil then
      bury('malformed delayed entry: expected <queue>|<priority>|<message>', nil, nil, member, now)
    else
      deliver(q, lvl, msg, now, false)
    end
  end
end

-- Highest priority first over all the queues, FIFO within a priority.
local got, from, levels = {}, {}, {}
local room = want - (#out - 2) / 2
for level = 9, 0, -1 do
  for i = 1, #queues do
    if #got >= room then break end
    local items = redis.call('LPOP', P .. ':q:' .. queues[i] .. ':' .. level, room - #got)
    if items then
      for _, msg in ipairs(items) do
        got[#got + 1] = msg
        from[#got] = queues[i]
        levels[#got] = level
      end
    end
  end
  if #got >= room then break end
end

if #out == 2 and #got == 0 then
  local nap = tonumber(ARGV[4])
  if nap > 0 then
    local entry = string.format('|%.3f', now + nap + SLEEPER_SLACK)
    for _, q in ipairs(queues) do
      redis.call('HSET', P .. ':sleepers:' .. q, me, (vts[q] or ARGV[7]) .. entry)
    end
    redis.call('ZADD', P .. ':leases', 'NX', now + tonumber(ARGV[6]), me)
  end
  local first = redis.call('ZRANGE', P .. ':delayed', 0, 0, 'WITHSCORES')
  if first[2] then out[2] = first[2] end
  return out
end
if #got == 0 then return out end
local last_tag = redis.call('INCRBY', P .. ':seq', #got)
local fields, earliest, prefixes = {}, nil, {}
for j = 1, #got do
  -- messages of one queue and priority share the start of their held value
  local source = from[j] .. '|' .. levels[j]
  local prefix = prefixes[source]
  if prefix == nil then
    local deadline = now + (vts[from[j]] or tonumber(ARGV[7]))
    if earliest == nil or deadline < earliest then earliest = deadline end
    prefix = held_value(deadline, now, from[j], levels[j], '')
    prefixes[source] = prefix
  end
  local tag = last_tag - #got + j
  fields[#fields + 1] = tag
  fields[#fields + 1] = prefix .. got[j]
  out[#out + 1] = tag
  out[#out + 1] = got[j]
end
redis.call('HSET', held, unpack(fields))
redis.call('ZADD', P .. ':due', 'LT', earliest, me)
redis.call('ZADD', P .. ':leases', 'NX', now + tonumber(ARGV[6]), me)
return out
"""
)

#: ARGV: prefix, consumer, tag, queue, priority, eta or '', message of the next attempt.
#: Acknowledges the delivery and enqueues the next attempt, only if the delivery was still
#: held (a message reclaimed meanwhile runs again as it is).
RETRY = (
    _PRELUDE
    + """
if redis.call('HDEL', P .. ':held:' .. ARGV[2], ARGV[3]) == 0 then return 0 end
local now, q, lvl, eta, msg = now_s(), ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if eta ~= '' and tonumber(eta) > now then
  redis.call('ZADD', P .. ':delayed', eta, q .. '|' .. lvl .. '|' .. msg)
  poke(q, now)
else
  deliver(q, lvl, msg, now, false)
end
return 1
"""
)

#: ARGV: prefix, consumer, then (tag, reason) pairs. Moves held messages to the dead letters
#: (see :func:`bury`).
DEAD_LETTER = (
    _PRELUDE
    + """
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
"""
)

#: ARGV: prefix, dead letter id, queue, priority. Removes the dead letter and enqueues its
#: message (checked by the caller) again; returns 0 when it is gone already.
REQUEUE_DEAD = (
    _PRELUDE
    + """
local raw = redis.call('HGET', P .. ':dead:items', ARGV[2])
if not raw then return 0 end
local record = cjson.decode(raw)
redis.call('HDEL', P .. ':dead:items', ARGV[2])
redis.call('ZREM', P .. ':dead:ids', ARGV[2])
redis.call('DECRBY', P .. ':dead:bytes', #raw)
redis.call('SADD', P .. ':queues', ARGV[3])
deliver(ARGV[3], ARGV[4], record['message'], now_s(), false)
return 1
"""
)

#: ARGV: prefix, dead letter id. Deletes it; returns 0 when it is gone already.
DELETE_DEAD = (
    _PRELUDE
    + """
local raw = redis.call('HGET', P .. ':dead:items', ARGV[2])
if not raw then return 0 end
redis.call('HDEL', P .. ':dead:items', ARGV[2])
redis.call('ZREM', P .. ':dead:ids', ARGV[2])
redis.call('DECRBY', P .. ':dead:bytes', #raw)
return 1
"""
)

#: ARGV: prefix, consumer, tags... Gives held deliveries back to the head of their queues.
RELEASE = (
    _PRELUDE
    + """
local held, entries = P .. ':held:' .. ARGV[2], {}
for j = 3, #ARGV do
  local v = redis.call('HGET', held, ARGV[j])
  if v then entries[#entries + 1] = {tonumber(ARGV[j]), v} end
end
return requeue(ARGV[2], entries, now_s())
"""
)

#: ARGV: prefix, consumer, worker id, lease seconds, worker info JSON, orphan age, renewal
#: (1 when the consumer had a lease before), then the tags the consumer knows it holds.
#: Renews the lease, publishes the worker's info, gives back entries held for this consumer
#: that it does not know of (a reply lost with a connection) once they are ``orphan age``
#: seconds old, and reclaims from dead or overdue consumers. Returns {messages moved, 1 when
#: the lease had run out before this renewal}.
HEARTBEAT = (
    _PRELUDE
    + """
local me, now, ttl = ARGV[2], now_s(), tonumber(ARGV[4])
local before = tonumber(redis.call('ZSCORE', P .. ':leases', me))
local lapsed = ARGV[7] == '1' and (before == nil or before < now)
redis.call('ZADD', P .. ':leases', now + ttl, me)
redis.call('SET', P .. ':worker:' .. ARGV[3], ARGV[5], 'PX', math.ceil(ttl * 1000))
redis.call('ZADD', P .. ':workers', now + ttl, ARGV[3])
redis.call('ZREMRANGEBYSCORE', P .. ':workers', '-inf', now)
local known, orphans, oldest = {}, {}, now - tonumber(ARGV[6])
for j = 8, #ARGV do known[ARGV[j]] = true end
for _, e in ipairs(held_entries(me)) do
  local _, fetched = split_held(e[2])
  fetched = tonumber(fetched)
  if not known[e[3]] and (fetched == nil or fetched < oldest) then orphans[#orphans + 1] = e end
end
return {requeue(me, orphans, now) + reclaim(now), lapsed and 1 or 0}
"""
)

#: ARGV: prefix, consumer or '', worker id. Removes the worker's info; with a consumer, also
#: gives back everything it still holds at once.
RETIRE = (
    _PRELUDE
    + """
redis.call('DEL', P .. ':worker:' .. ARGV[3])
redis.call('ZREM', P .. ':workers', ARGV[3])
if ARGV[2] == '' then return 0 end
return retire(ARGV[2], now_s())
"""
)

#: ARGV: prefix. Returns the live workers' info JSON documents.
LIST_WORKERS = (
    _PRELUDE
    + """
local ids = redis.call('ZRANGEBYSCORE', P .. ':workers', now_s(), '+inf')
if #ids == 0 then return {} end
local keys = {}
for i, id in ipairs(ids) do keys[i] = P .. ':worker:' .. id end
return redis.call('MGET', unpack(keys))
"""
)

#: ARGV: prefix. Returns {queue, waiting count, ...} for every known queue.
QUEUE_SIZES = (
    _PRELUDE
    + """
local out = {}
for _, q in ipairs(redis.call('SMEMBERS', P .. ':queues')) do
  local total = 0
  for level = 0, 9 do total = total + redis.call('LLEN', P .. ':q:' .. q .. ':' .. level) end
  out[#out + 1] = q
  out[#out + 1] = total
end
return out
"""
)
