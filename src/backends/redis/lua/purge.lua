-- Deletes up to `limit` ready tasks that ended more than `olderThan` ms ago on the store's clock,
-- oldest first, of the given statuses (TaskStore.purge). Walks the per-status ended indexes
-- (zsets scored by end time, filled by every script that makes a task ready): at most `limit`
-- entries of each. Tasks that became ready before those indexes existed are never purged.
-- KEYS: 1 all (routing only)
-- ARGV: 1 prefix, 2 olderThan ms, 3 limit, then the statuses (codes among 1, 2, 3)
-- Returns how many tasks were deleted.
local cut = now_ms() - tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local found = {}
for k = 4, #ARGV do
  local status = ARGV[k]
  local entries = redis.call('ZRANGEBYSCORE', P .. 'ended:' .. status, '-inf', '(' .. cut, 'WITHSCORES', 'LIMIT', 0, limit)
  for e = 1, #entries, 2 do found[#found + 1] = { tonumber(entries[e + 1]), entries[e], status } end
end
table.sort(found, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
local purged = 0
for e = 1, math.min(limit, #found) do
  local id, status = found[e][2], found[e][3]
  local key = tkey(id)
  local f = redis.call('HMGET', key, 'status', 'lock_id', 'name')
  if READY[f[1]] then
    -- The lock is normally released when the task became ready; a hold still naming this task
    -- would only point at a task that no longer exists.
    release_lock(id, f[2])
    redis.call('ZREM', P .. 's:' .. f[1], id)
    local name = f[3] and cjson.decode(f[3])
    if type(name) == 'string' then redis.call('ZREM', P .. 'n:' .. name, id) end
    -- UNLINK: a large result is freed off the main thread.
    redis.call('UNLINK', key)
    redis.call('ZREM', KEYS[1], id)
    purged = purged + 1
  elseif not f[1] then
    -- The hash is gone (deleted outside the store): drop the dangling listing too.
    redis.call('ZREM', KEYS[1], id)
  end
  -- An entry whose task is not ready (never expected) leaves the index; the task stays.
  redis.call('ZREM', P .. 'ended:' .. status, id)
end
return purged
