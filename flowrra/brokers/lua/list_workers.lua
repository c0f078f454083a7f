-- list_workers: the info documents of the live workers (lease not run out).
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
--
-- Returns: {info JSON or nil, ...}, one per live worker
local ids = redis.call('ZRANGEBYSCORE', P .. ':workers', now_s(), '+inf')
if #ids == 0 then return {} end
local keys = {}
for i, id in ipairs(ids) do keys[i] = P .. ':worker:' .. id end
return redis.call('MGET', unpack(keys))
