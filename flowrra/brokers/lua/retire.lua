-- retire: remove a worker's info; with a consumer, also give back everything it still holds
-- at once and drop its lease, sleeper entries, wake list and epoch.
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: consumer id, or '' to keep the consumer (other workers of the process use it)
-- ARGV[3]: worker id
--
-- Returns: how many messages were given back
redis.call('DEL', P .. ':worker:' .. ARGV[3])
redis.call('ZREM', P .. ':workers', ARGV[3])
if ARGV[2] == '' then return 0 end
return retire(ARGV[2], now_s(), false)
