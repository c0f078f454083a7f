-- heartbeat: renew a consumer's lease and publish its worker's info; give back the entries
-- held for this consumer that it does not know of (a fetch reply lost with a connection)
-- once they are old enough; write the dead-letter bounds; and reclaim what dead consumers,
-- or live ones past a visibility deadline, hold.
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: consumer id
-- ARGV[3]: worker id
-- ARGV[4]: lease in seconds (the worker's info expires with it)
-- ARGV[5]: the worker's info, JSON
-- ARGV[6]: orphan age in seconds: an unknown held entry older than this is given back
-- ARGV[7]: 1 if this consumer had a lease before (so a missing one means it lapsed), else 0
-- ARGV[8], ARGV[9], ARGV[10]: dead-letter bounds: most letters, most bytes in all, most
--          bytes of one message
-- ARGV[11..]: the delivery tags the consumer knows it holds
--
-- Returns: {messages given back or reclaimed, 1 if the lease had run out before, else 0,
--           the consumer's epoch: how many times its lease ran out and what it held was
--           taken back (the worker's result writes name it, see retire in prelude.lua)}
local me, now, ttl = ARGV[2], now_s(), tonumber(ARGV[4])
local before = tonumber(redis.call('ZSCORE', P .. ':leases', me))
local lapsed = ARGV[7] == '1' and (before == nil or before < now)
redis.call('ZADD', P .. ':leases', now + ttl, me)
redis.call('SET', P .. ':worker:' .. ARGV[3], ARGV[5], 'PX', math.ceil(ttl * 1000))
redis.call('ZADD', P .. ':workers', now + ttl, ARGV[3])
redis.call('ZREMRANGEBYSCORE', P .. ':workers', '-inf', now)
redis.call('HSET', P .. ':dead:limits', 'count', ARGV[8], 'bytes', ARGV[9], 'message', ARGV[10])
local known, orphans, oldest = {}, {}, now - tonumber(ARGV[6])
for j = 11, #ARGV do known[ARGV[j]] = true end
for _, e in ipairs(held_entries(me)) do
  local _, fetched = split_held(e[2])
  fetched = tonumber(fetched)
  if not known[e[3]] and (fetched == nil or fetched < oldest) then orphans[#orphans + 1] = e end
end
local moved = requeue(me, orphans, now) + reclaim(now)
local epoch = redis.call('GET', P .. ':epoch:' .. me)
if epoch then redis.call('EXPIRE', P .. ':epoch:' .. me, EPOCH_KEEP) end
return {moved, lapsed and 1 or 0, tonumber(epoch) or 0}
