-- Saves ready tasks, releases their locks, drops them from in-flight, publishes task_done for each
-- (TaskStore.finish). The finishes a store has in one turn of its event loop run as one script;
-- each task is checked (fenced) on its own, and nothing is saved for a stale delivery.
-- A finish may carry its task's start ('1'): the worker wrote both in one turn (its job ended in
-- the turn it started). Then this run saves the start too (a task QUEUED goes straight to its end,
-- the finish's fields holding time_started and worker) and broadcasts task_started before
-- task_done; the answer is the start's as well. A start that never went alone costs no start
-- script, listing move or hash write.
-- KEYS: 1 inflight (routing only)
-- ARGV: 1 prefix, 2 '1' to announce each task with its hash (a small batch) else '', then per
--       task: id, worker, token, its lock id as JSON ('null' for none), when it carries its start
--       the task's listing score (its _tq, as the pull read it with the task QUEUED: nothing else
--       moves it off QUEUED while this delivery holds it, every other write being fenced) or '1'
--       (not known: the QUEUED listing is read), else '', then n, n field/value entries (only the
--       changed fields: n may be 0)
-- A small batch (a few tasks: latency counts) is announced: each task saved goes out with its
-- stored hash on the `task_done:tasks` channel, so that a waiter needs no read (redis-events.ts).
-- A larger batch (throughput counts) publishes the ids alone: the waiters read them. The client
-- sends a PING right before an announced run, in the same write (redis-deliveries.ts): Redis
-- writes its pending replies last-queued first, so with this worker's connection already waiting
-- for its PING's reply, the waiters' broadcast leaves ahead of this script's reply instead of
-- after it.
-- Returns one 1 (saved) or 0 (fenced off) per task, in order. A run resent after its reply was
-- lost answers 1 again for the tasks it saved (_fin remembers the delivery whose finish was saved,
-- and the task still holds what it sent); any other write of a finished delivery answers 0.
local announced = ARGV[2] == '1'
local now = now_ms()
-- `starting`: the ids carrying their start with no listing score named (read from the QUEUED
-- listing); `queued`: the listing score of each id carrying its start; `plain`: the ids not
-- carrying it, with their places in `ids`.
local ids, at, starting, plain, plain_at, queued = {}, {}, {}, {}, {}, {}
local i = 3
while i <= #ARGV do
  ids[#ids + 1] = ARGV[i]
  at[#at + 1] = i
  local carried = ARGV[i + 4]
  if carried == '1' then
    starting[#starting + 1] = ARGV[i]
  elseif carried ~= '' then
    queued[ARGV[i]] = carried
  else
    plain[#plain + 1] = ARGV[i]
    plain_at[#plain] = #ids
  end
  i = i + 6 + tonumber(ARGV[i + 5])
end
-- The deliveries of the whole batch, and which tasks are listed STARTED (or QUEUED, for those
-- carrying their start) with their listing score, read at once (the status of any other is read
-- on its own); `ended` holds the ids this run took out of flight (a second write of one in the
-- batch finds it finished).
local current, running, ended = fences(ids), {}, {}
if #plain > 0 then
  for k, score in ipairs(scores(P .. 's:5', plain)) do running[plain_at[k]] = score end
end
if #starting > 0 or next(queued) then publish_first('task_started') end
if #starting > 0 then
  local found = scores(P .. 's:6', starting)
  for k, id in ipairs(starting) do queued[id] = found[k] end
end
-- The ids announced (and whether each carried its start), in order.
local out, told, told_start = {}, {}, {}
for t, id in ipairs(ids) do
  i = at[t]
  local worker, token, lock, n = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 5])
  local with_start = ARGV[i + 4] ~= ''
  local from_arg, to_arg = i + 6, i + 5 + n
  local fence = worker .. ':' .. token
  local key = tkey(id)
  local flying = current[t] and not ended[id]
  if flying and current[t] == fence then
    ended[id] = true
    local from, tq = '5', running[t]
    if with_start and queued[id] then from, tq = '6', queued[id] end
    if not tq then
      local f = redis.call('HMGET', key, 'status', '_tq')
      from, tq = f[1], tq_of(id, f[2])
    end
    -- One HSET: the delivery whose finish this is (its token), and the changed fields straight
    -- from ARGV (no table built per task; a client sends wire fields only, never _fin).
    redis.call('HSET', key, '_fin', token, unpack(ARGV, from_arg, to_arg))
    leave_flight(id, worker)
    -- Only changed fields are sent: a status not sent is the stored one.
    local status = sent('status', from_arg, to_arg, from)
    move(id, from, status, tq)
    if READY[status] then ended_at(id, status, now) end
    release_lock(id, lock)
    if announced then
      told[#told + 1] = id
      told_start[#told] = with_start
    else
      if with_start then publish('task_started', id) end
      publish('task_done', id)
    end
    out[t] = 1
  elseif not flying and already_saved(id, redis.call('HGET', key, '_fin'), worker, token, from_arg, to_arg, nil) then
    -- Sent again after its reply was lost: its broadcasts went with the first run (a listener
    -- whose connection dropped meanwhile reads what it missed: redis-events.ts, its epoch).
    out[t] = 1
  else
    out[t] = 0
  end
end
-- Each task announced with its hash, read once the batch is saved; task_started and task_done
-- follow (deferred: one message each).
for k, id in ipairs(told) do
  if told_start[k] then publish('task_started', id) end
  redis.call('PUBLISH', P .. 'task_done:tasks', id .. ' ' .. cjson.encode(redis.call('HGETALL', tkey(id))))
  publish('task_done', id)
end
return out
