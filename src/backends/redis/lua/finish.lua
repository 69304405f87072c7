-- Saves ready tasks, releases their locks, drops them from in-flight, publishes task_done for each
-- (TaskStore.finish). The finishes a store has in one turn of its event loop run as one script;
-- each task is checked (fenced) on its own, and nothing is saved for a stale delivery.
-- KEYS: 1 inflight (routing only)
-- ARGV: 1 prefix, then per task: id, worker, token, its lock id as JSON ('null' for none), n, n
--       field/value entries (only the changed fields: n may be 0)
-- Returns one 1 (saved) or 0 (fenced off) per task, in order. A run resent after its reply was
-- lost answers 1 again for the tasks it saved (_fin remembers the delivery whose finish was saved,
-- and the task still holds what it sent); any other write of a finished delivery answers 0.
local now = now_ms()
local ids, at = {}, {}
local i = 2
while i <= #ARGV do
  ids[#ids + 1] = ARGV[i]
  at[#at + 1] = i
  i = i + 5 + tonumber(ARGV[i + 4])
end
-- The deliveries of the whole batch, and which tasks are listed STARTED (with their listing score),
-- read at once (the status of any other is read on its own); `ended` holds the ids this run took
-- out of flight (a second write of one in the batch finds it finished).
local current, running, ended = fences(ids), scores(P .. 's:5', ids), {}
local out = {}
for t, id in ipairs(ids) do
  i = at[t]
  local worker, token, lock, n = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
  local from_arg, to_arg = i + 5, i + 4 + n
  local fence = worker .. ':' .. token
  local key = tkey(id)
  local flying = current[t] and not ended[id]
  if flying and current[t] == fence then
    ended[id] = true
    local from, tq = '5', running[t]
    if not tq then
      local f = redis.call('HMGET', key, 'status', '_tq')
      from, tq = f[1], tq_of(id, f[2])
    end
    -- One HSET: the delivery whose finish this is, and the changed fields straight from ARGV (no
    -- table built per task; a client sends wire fields only, never _fin).
    redis.call('HSET', key, '_fin', fence, unpack(ARGV, from_arg, to_arg))
    leave_flight(id)
    -- Only changed fields are sent: a status not sent is the stored one.
    local status = sent('status', from_arg, to_arg, from)
    move(id, from, status, tq)
    if READY[status] then ended_at(id, status, now) end
    release_lock(id, lock)
    publish('task_done', id)
    out[t] = 1
  elseif not flying and already_saved(id, redis.call('HGET', key, '_fin'), worker, token, from_arg, to_arg, nil) then
    out[t] = 1
  else
    out[t] = 0
  end
end
return out
