-- delete_dead: delete one dead letter and take its size off the total.
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: dead letter id
--
-- Returns: 1 if it was deleted, 0 if it is gone already
local raw = redis.call('HGET', P .. ':dead:items', ARGV[2])
if not raw then return 0 end
redis.call('HDEL', P .. ':dead:items', ARGV[2])
redis.call('ZREM', P .. ':dead:ids', ARGV[2])
redis.call('DECRBY', P .. ':dead:bytes', #raw)
return 1
