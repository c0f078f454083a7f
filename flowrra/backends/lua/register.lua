-- register: a process starts waiting for a task's final result.
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: the task id
-- ARGV[3]: the waiting process's token (its P:notify:<token> list gets the result)
-- ARGV[4]: seconds the registration is kept
--
-- Returns: the stored result JSON when it is already final, else false (registered)
local id = ARGV[2]
local raw = redis.call('GET', P .. ':result:' .. id)
if raw and FINAL[cjson.decode(raw)['status']] then return raw end
local key = P .. ':waiters:' .. id
redis.call('SADD', key, ARGV[3])
redis.call('EXPIRE', key, ARGV[4])
return false
