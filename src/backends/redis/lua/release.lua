-- Hands deliveries of a stopping worker back to the queue, nothing counted (TaskStore.release):
-- a started task goes back to QUEUED, each task to its old place in the queue. Releasing all a
-- worker holds also ends its parked pulls.
-- KEYS: 1 queue
-- ARGV: 1 prefix, 2 worker, 3 'all' (every task it holds) or 'some', then (some) id, token pairs
-- Returns the ids handed back. Costs what the app has in flight (the fence hash), never a scan of
-- the store.
local worker = ARGV[2]
local ids = {}
if ARGV[3] == 'all' then
  ids = held_by(worker)
  -- It leases nothing any more.
  redis.call('ZREM', P .. 'leases', worker)
  redis.call('HDEL', P .. 'held', worker)
  -- The worker is stopping: its parked pulls end, in whatever process, and take nothing for a
  -- moment (as TaskStore.interrupt).
  redis.call('SET', P .. 'halt:' .. worker, '1', 'PX', 1000)
  redis.call('LPUSH', P .. 'wake:' .. worker, '1')
  redis.call('PEXPIRE', P .. 'wake:' .. worker, 1000)
else
  for k = 4, #ARGV, 2 do
    if holds(ARGV[k], worker, ARGV[k + 1]) then ids[#ids + 1] = ARGV[k] end
  end
end
-- A worker handing tasks back waits for none now: what it hands back wakes the others.
redis.call('ZREM', P .. 'parked', worker)
local back = {}
for _, id in ipairs(ids) do
  local key = tkey(id)
  local f = redis.call('HMGET', key, 'status', '_qm', '_score', '_tq')
  leave_flight(id, worker)
  if f[1] and not READY[f[1]] then
    if f[1] == '5' then
      redis.call('HSET', key, 'status', '6', 'worker', 'null', 'time_started', 'null')
      move(id, '5', '6', tq_of(id, f[4]))
    end
    redis.call('ZADD', KEYS[1], f[3] or '0', member_of(id, f[2]) or new_member(id))
    publish('task_queued', id)
    back[#back + 1] = id
  end
end
wake(#back, now_ms())
return back
