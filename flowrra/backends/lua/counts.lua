-- counts: prune expired index entries, then count the results in each status.
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: ttl, seconds a stored result is kept
--
-- Returns: the count per status, in the order of the prelude's statuses
prune(tonumber(ARGV[2]))
local out = {}
for i, s in ipairs(statuses) do out[i] = redis.call('ZCARD', P .. ':status:' .. s) end
return out
