-- Saves tasks their workers start and publishes task_started for each (TaskStore.start). The
-- starts a store has in one turn of its event loop run as one script; each task is checked
-- (fenced: worker and token of its current delivery) and saved on its own. A start sent again
-- (its reply lost) saves the same fields again and publishes nothing.
-- KEYS: 1 inflight (routing only)
-- ARGV: 1 prefix, then per task: id, worker, token, n, n field/value entries (only the changed
--       fields: n may be 0)
-- Returns one 1 (saved) or 0 (fenced off: nothing saved) per task, in order.
local ids, at = {}, {}
local i = 2
while i <= #ARGV do
  ids[#ids + 1] = ARGV[i]
  at[#at + 1] = i
  i = i + 4 + tonumber(ARGV[i + 3])
end
-- The deliveries of the whole batch, and which tasks are listed QUEUED (with their listing score),
-- read at once; the status of any other (a retried or re-delivered task) is read on its own.
local current, queued = fences(ids), scores(P .. 's:6', ids)
local out = {}
for t, id in ipairs(ids) do
  i = at[t]
  local worker, token, n = ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  if current[t] == worker .. ':' .. token then
    local from, tq = '6', queued[t]
    if not tq then
      local f = redis.call('HMGET', tkey(id), 'status', '_tq')
      from, tq = f[1], tq_of(id, f[2])
    end
    if n > 0 then
      redis.call('HSET', tkey(id), unpack(ARGV, i + 4, i + 3 + n))
      move(id, from, sent('status', i + 4, i + 3 + n, from), tq)
    end
    -- Started already by this delivery: the same start sent again after its reply was lost
    -- (recover and release put a task they take back to QUEUED). Its broadcast went the first time.
    if from ~= '5' then publish('task_started', id) end
    out[t] = 1
  else
    out[t] = 0
  end
end
return out
