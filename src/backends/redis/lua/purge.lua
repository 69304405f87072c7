-- Deletes up to `limit` ready tasks that ended more than `olderThan` ms ago on the store's clock,
-- oldest first, of the given statuses (TaskStore.purge). Walks the per-status ended lists (entries
-- `<end ms>:<id>` pushed in the order tasks ended by every script that makes a task ready, _lib.lua
-- ended_at) from their heads, and the `ended:<code>` zsets older versions filled (scored by end
-- time): at most `limit` entries of each. Tasks that became ready before any of those indexes
-- existed are never purged.
-- KEYS: 1 all (routing only)
-- ARGV: 1 prefix, 2 olderThan ms, 3 limit, then the statuses (codes among 1, 2, 3)
-- Returns how many tasks were deleted.
local cut = now_ms() - tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
-- Candidates { end ms, id, status, list key or false (an older version's zset), order read }.
local found = {}
local function candidate(ms, id, status, list)
  found[#found + 1] = { ms, id, status, list, #found + 1 }
end
for k = 4, #ARGV do
  local status = ARGV[k]
  local list = P .. 'ends:' .. status
  -- The head of the list, up to its first entry not older than the cut. An end time below one
  -- read before it (the store's clock stepped back) counts as that one: what is taken from a list
  -- is always its head, removed with one LTRIM.
  local floor = nil
  for _, entry in ipairs(redis.call('LRANGE', list, 0, limit - 1)) do
    local at = string.find(entry, ':', 1, true)
    local ms = at and tonumber(string.sub(entry, 1, at - 1))
    if ms and floor and ms < floor then ms = floor end
    if ms and ms >= cut then break end
    -- An entry not of this form (never expected) goes with the purge, naming no task.
    floor = ms or floor or cut - 1
    candidate(floor, at and string.sub(entry, at + 1) or '', status, list)
  end
  local old = redis.call('ZRANGEBYSCORE', P .. 'ended:' .. status, '-inf', '(' .. cut, 'WITHSCORES', 'LIMIT', 0, limit)
  for e = 1, #old, 2 do candidate(tonumber(old[e + 1]), old[e], status, false) end
end
-- Oldest end first; equal ends in the order read (a list's entries stay in list order).
table.sort(found, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[5] < b[5]) end)
-- Indexes older versions kept that a ready task may still be in (s:<code> of ready tasks, n:<name>,
-- all): a ZREM only where that index exists, checked once per run and key.
local legacy = {}
local function unlist(key, id)
  local there = legacy[key]
  if there == nil then
    there = redis.call('EXISTS', key) == 1
    legacy[key] = there
  end
  if there then redis.call('ZREM', key, id) end
end
local purged, taken = 0, {}
for e = 1, math.min(limit, #found) do
  local id, status, list = found[e][2], found[e][3], found[e][4]
  local key = tkey(id)
  local f = id ~= '' and redis.call('HMGET', key, 'status', 'lock_id', 'name', '_tq') or {}
  if READY[f[1]] then
    -- The lock is normally released when the task became ready; a hold still naming this task
    -- would only point at a task that no longer exists.
    release_lock(id, f[2])
    ready_remove(f[1], tq_of(id, f[4]), id)
    unlist(P .. 's:' .. f[1], id)
    local name = f[3] and cjson.decode(f[3])
    if type(name) == 'string' then unlist(P .. 'n:' .. name, id) end
    -- UNLINK: a large result is freed off the main thread.
    redis.call('UNLINK', key)
    unlist(KEYS[1], id)
    purged = purged + 1
  elseif id ~= '' and not f[1] then
    -- The hash is gone (deleted outside the store): drop the dangling listing too.
    unlist(KEYS[1], id)
  end
  -- The entry leaves its index whatever it named (a task not ready, never expected, stays).
  if list then
    taken[list] = (taken[list] or 0) + 1
  else
    redis.call('ZREM', P .. 'ended:' .. status, id)
  end
end
for list, n in pairs(taken) do redis.call('LTRIM', list, n, -1) end
return purged
