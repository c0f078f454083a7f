-- delete: remove results and their index entries.
--
-- KEYS[1]: the key prefix P itself, unread: it names the cluster slot the script runs in
-- ARGV[1]: key prefix P
-- ARGV[2]: ttl (unused here; every backend script takes it second)
-- ARGV[3..]: the task ids
--
-- Returns: how many of the results existed
local removed = 0
for j = 3, #ARGV do
  local id = ARGV[j]
  local raw = redis.call('GET', P .. ':result:' .. id)
  if raw then
    removed = removed + redis.call('DEL', P .. ':result:' .. id)
    local name = cjson.decode(raw)['task_name']
    if type(name) == 'string' then redis.call('ZREM', P .. ':name:' .. name, id) end
  end
  for _, s in ipairs(statuses) do redis.call('ZREM', P .. ':status:' .. s, id) end
end
return removed
