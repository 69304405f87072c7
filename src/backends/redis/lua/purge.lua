-- Deletes up to `limit` ready tasks that ended before `before`, oldest first (TaskStore.purge).
-- Walks the ended index that finish.lua, recover.lua and revoke.lua add to in the same script that
-- makes a task ready. Tasks that became ready before that index existed have no entry in it and
-- are never purged (deleting them would need a scan of every task: flush() or a manual cleanup).
-- KEYS: 1 ended (zset, score time ended ms, member id), 2 all, 3 locks
-- ARGV: 1 task key prefix, 2 before ms (exclusive), 3 limit
-- Returns how many tasks were deleted.
local prefix, limit = ARGV[1], tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, limit)
local purged = 0
for _, id in ipairs(ids) do
  local key = prefix .. id
  local f = redis.call('HMGET', key, 'status', 'lock_id')
  if f[1] == '1' or f[1] == '2' or f[1] == '3' then
    -- The lock is normally released when the task became ready; a hold still naming this task
    -- would only point at a task that no longer exists.
    local lock = f[2] and cjson.decode(f[2])
    if type(lock) == 'string' and redis.call('HGET', KEYS[3], lock) == id then redis.call('HDEL', KEYS[3], lock) end
    -- UNLINK: a large result is freed off the main thread.
    redis.call('UNLINK', key)
    redis.call('ZREM', KEYS[2], id)
    purged = purged + 1
  elseif not f[1] then
    -- The hash is gone (deleted outside the store): drop the dangling listing too.
    redis.call('ZREM', KEYS[2], id)
  end
  -- An entry whose task is not ready (never expected: a task does not leave a ready state) is
  -- dropped from the index without deleting the task: purge never removes an unready task.
  redis.call('ZREM', KEYS[1], id)
end
return purged
