-- Saves ready tasks, releases their locks, drops them from in-flight, publishes task_done for each
-- (TaskStore.finish). The finishes a store has in one turn of its event loop run as one script;
-- each task is checked (fenced) on its own, and nothing is saved for a stale delivery.
-- KEYS: 1 inflight (routing only)
-- ARGV: 1 prefix, then per task: id, worker, token, n, n field/value entries (only the changed
--       fields: n may be 0)
-- Returns one 1 (saved) or 0 (fenced off) per task, in order. A run resent after its reply was
-- lost answers 1 again for the tasks it saved (_fin remembers the delivery whose finish was saved,
-- and the task still holds what it sent); any other write of a finished delivery answers 0.
local now = now_ms()
local out = {}
local i = 2
while i <= #ARGV do
  local id, worker, token, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local key = tkey(id)
  local f = redis.call('HMGET', key, '_owner', '_token', 'status', '_tq', '_fin', 'lock_id')
  if f[1] == worker and f[2] == token then
    -- One HSET: the changed fields, the delivery whose finish this is, and no owner any more (it
    -- leaves flight: the in-flight and owned sets follow with the batch).
    local h = { unpack(ARGV, i + 4, i + 3 + n) }
    h[#h + 1] = '_fin'
    h[#h + 1] = worker .. ':' .. token
    h[#h + 1] = '_owner'
    h[#h + 1] = ''
    redis.call('HSET', key, unpack(h))
    defer('ZREM', P .. 'inflight', id)
    defer('SREM', P .. 'owned:' .. worker, id)
    -- Only changed fields are sent: what the arguments lack is what was stored.
    local g = { sent('status', i + 4, i + 3 + n, f[3]), sent('lock_id', i + 4, i + 3 + n, f[6]) }
    local tq = tq_of(id, f[4])
    if READY[g[1]] then
      became_ready(id, f[3], g[1], tq, now, g[2])
    else
      move(id, f[3], g[1], tq)
      release_lock(id, g[2])
      publish('task_done', id)
    end
    out[#out + 1] = 1
  elseif (not f[1] or f[1] == '') and already_saved(id, f[5], worker, token, i + 4, i + 3 + n, nil) then
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  i = i + 4 + n
end
return out
