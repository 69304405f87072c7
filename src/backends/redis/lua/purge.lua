-- Deletes up to `limit` ready tasks that ended more than `olderThan` ms ago on the store's clock,
-- oldest first, of the given statuses (TaskStore.purge). Walks the per-status ended lists (ids
-- pushed in the order tasks ended by every script that makes a task ready, each run's after a
-- marker ` <end ms>`: _lib.lua ended_at; older versions pushed `<end ms>:<id>` entries) from their
-- heads, and the `ended:<code>` zsets older versions filled (scored by end time): at most `limit`
-- tasks of each. Tasks that became ready before any of those indexes existed are never purged.
-- KEYS: 1 all (routing only)
-- ARGV: 1 prefix, 2 olderThan ms, 3 limit, then the statuses (codes among 1, 2, 3)
-- Returns how many tasks were deleted.
local cut = now_ms() - tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
-- Entries still pending go into the buckets first, where a deleted task's entry is removed.
for _, code in ipairs({ '1', '2', '3' }) do ready_index(code) end
-- Candidates { end ms, id, status, list key or false (an older version's zset), order read,
-- position in its list, the marker of its group (nil for an older version's entry) }.
local found = {}
local function candidate(ms, id, status, list, pos, mark)
  found[#found + 1] = { ms, id, status, list, #found + 1, pos, mark }
end
for k = 4, #ARGV do
  local status = ARGV[k]
  local list = P .. 'ends:' .. status
  -- The head of the list, up to its first task not older than the cut (markers do not count
  -- towards `limit`: at most one before each task). An end time below one read before it (the
  -- store's clock stepped back) counts as that one: what is taken from a list is always its head,
  -- removed with one LTRIM.
  local floor, mark, group, read = nil, nil, nil, 0
  for pos, entry in ipairs(redis.call('LRANGE', list, 0, math.min(2 * limit, 1e15) - 1)) do
    if read >= limit then break end
    if string.sub(entry, 1, 1) == ' ' then
      mark, group = entry, tonumber(string.sub(entry, 2))
    else
      local ms, id = group, entry
      local old = string.match(entry, '^(%d+):')
      if old and (not group or #old == 13) then
        -- An older version's `<end ms>:<id>` (an id never starts with 13 digits and a colon).
        ms, id, mark = tonumber(old), string.sub(entry, #old + 2), nil
      end
      if ms and floor and ms < floor then ms = floor end
      if ms and ms >= cut then break end
      -- An entry naming no end (never expected) goes with the purge.
      floor = ms or floor or cut - 1
      candidate(floor, id, status, list, pos, mark)
      read = read + 1
    end
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
  -- The entry leaves its index whatever it named (a task not ready, never expected, stays). What
  -- is taken from a list is a head of it (its candidates are taken in list order).
  if list then
    taken[list] = found[e]
  else
    redis.call('ZREM', P .. 'ended:' .. status, id)
  end
end
for list, last in pairs(taken) do
  redis.call('LTRIM', list, last[6], -1)
  -- Ids left at the head without their marker get it back.
  local head = last[7] and redis.call('LINDEX', list, 0)
  if head and string.sub(head, 1, 1) ~= ' ' then redis.call('LPUSH', list, last[7]) end
end
return purged
