-- fetch: take up to a batch of messages for one consumer, highest priority first across its
-- queues and FIFO within a priority, and hold them for it until they are acknowledged.
-- Messages handed to the consumer while it slept come first; due delayed messages join
-- their queues on the way. When nothing is found, the consumer may register as a sleeper
-- of its queues, so that the next message is handed to it directly.
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: consumer id
-- ARGV[3]: most messages to take
-- ARGV[4]: seconds its sleeper entry stays valid if nothing is found (the wait it will
--          block for, plus slack); 0: it will not wait, so it does not register
-- ARGV[5]: 1 to leave the sleepers of its queues first (it was registered), else 0
-- ARGV[6]: lease in seconds, set when the consumer has none yet
-- ARGV[7]: default visibility timeout in seconds
-- ARGV[8]: 1 to take from every known queue (then the pairs are only overrides), else 0
-- ARGV[9..]: (queue, visibility timeout) pairs, the queues to take from
--
-- Returns: {revoked ids version, ETA of the next delayed message or '',
--           tag, message, tag, message, ...}
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
  local valid = tonumber(ARGV[4])
  if valid > 0 then
    local entry = string.format('|%.3f', now + valid)
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
