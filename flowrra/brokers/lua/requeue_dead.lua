-- requeue_dead: remove a dead letter and enqueue its message again (the caller checked that
-- it can run), in one step so that two requests never enqueue it twice.
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: dead letter id
-- ARGV[3]: queue to enqueue it on
-- ARGV[4]: its priority 0-9
--
-- Returns: 1 if it was requeued, 0 if it is gone already
local raw = redis.call('HGET', P .. ':dead:items', ARGV[2])
if not raw then return 0 end
local record = cjson.decode(raw)
redis.call('HDEL', P .. ':dead:items', ARGV[2])
redis.call('ZREM', P .. ':dead:ids', ARGV[2])
redis.call('DECRBY', P .. ':dead:bytes', #raw)
redis.call('SADD', P .. ':queues', ARGV[3])
deliver(ARGV[3], ARGV[4], record['message'], now_s(), false)
return 1
