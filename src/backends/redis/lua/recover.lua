-- The tasks of workers whose lease ended on the store's clock (or every task of a dead worker)
-- leave flight (TaskStore.recover): a task that had STARTED goes back to QUEUED with a redelivery
-- counted, or past the bound ends FAILURE, lock released; a task pulled but never started goes back
-- to its place with nothing counted. `retries` is never touched (it counts job failures).
-- KEYS: 1 queue
-- ARGV: 1 prefix, 2 max redeliveries, 3 worker ('' for ended leases), 4 lost message for 1
--       redelivery (JSON), 5 lost message template (JSON) with 987654321 standing for the count
-- Returns { requeued ids, failed ids, returned ids }. Recovers at most 1000 tasks of ended leases
-- a run (a worker with more keeps its ended lease: the next run goes on), and reads what the app
-- has in flight (the fence hash) when a lease ended or a worker died.
local now = now_ms()
local maxRedeliveries, worker = tonumber(ARGV[2]), ARGV[3]
local ids
if worker ~= '' then
  ids = held_by(worker)
  -- A dead worker is woken no more, and leases nothing.
  redis.call('ZREM', P .. 'parked', worker)
  redis.call('ZREM', P .. 'leases', worker)
  redis.call('HDEL', P .. 'held', worker)
else
  -- Tasks leased one by one by older versions (_lib.lua: lease_worker), then the workers' leases.
  -- An entry of the older kind whose task a worker leases now (it went back to the queue without
  -- its entry, and was pulled again) is only dropped.
  ids = {}
  local seen = {}
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'inflight', '-inf', '(' .. now, 'LIMIT', 0, 1000)) do
    defer('ZREM', P .. 'inflight', id)
    local owner = owner_of(redis.call('HGET', P .. 'fence', id))
    local lease = owner and redis.call('ZSCORE', P .. 'leases', owner)
    if not (lease and tonumber(lease) >= now) then
      ids[#ids + 1] = id
      seen[id] = true
    end
  end
  -- A worker whose count says it holds nothing (it went idle) is dropped without a read of the
  -- fence hash; the others' tasks are found in one read of it.
  local ended = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', '(' .. now, 'LIMIT', 0, 1000)
  local workers, holding = {}, false
  for _, w in ipairs(ended) do
    if redis.call('HGET', P .. 'held', w) == '0' then
      defer('ZREM', P .. 'leases', w)
      defer('HDEL', P .. 'held', w)
    else
      workers[w] = true
      holding = true
    end
  end
  if holding and #ids < 1000 then
    local held, more = held_by_any(workers, 1000 - #ids)
    for _, id in ipairs(held) do
      if not seen[id] then ids[#ids + 1] = id end
    end
    -- A worker whose tasks are all taken leases nothing any more.
    for w in pairs(workers) do
      if not more[w] then
        defer('ZREM', P .. 'leases', w)
        defer('HDEL', P .. 'held', w)
      end
    end
  end
  -- Parkings that lapsed (_lib.lua: wake): their workers died parked.
  drop_lapsed(now)
end
local requeued, failed, returned = {}, {}, {}
for _, id in ipairs(ids) do
  local key = tkey(id)
  local f = redis.call('HMGET', key, 'status', 'redeliveries', 'lock_id', '_score', '_qm', '_tq')
  local owner = owner_of(redis.call('HGET', P .. 'fence', id))
  local mine = worker == '' or owner == worker
  if mine then leave_flight(id, owner) end
  -- Skip tasks gone (flushed), already ready, or (never expected) held by another worker.
  if mine and f[1] and not READY[f[1]] then
    local tq = tq_of(id, f[6])
    if f[1] ~= '5' then
      redis.call('ZADD', KEYS[1], f[4] or '0', member_of(id, f[5]) or new_member(id))
      returned[#returned + 1] = id
    else
      local redeliveries = tonumber(f[2] or '0') or 0
      if redeliveries >= maxRedeliveries then
        local message = ARGV[4]
        if redeliveries ~= 1 then message = (string.gsub(ARGV[5], '987654321', tostring(redeliveries))) end
        redis.call('HSET', key, 'status', '2', 'result', message, 'time_ended', secs(now))
        became_ready(id, '5', '2', tq, now, f[3])
        failed[#failed + 1] = id
      else
        local member, qm = new_member(id)
        redis.call('HSET', key, 'status', '6', 'redeliveries', tostring(redeliveries + 1), 'worker', 'null',
          'time_started', 'null', 'eta', 'null', '_qm', qm)
        move(id, '5', '6', tq)
        redis.call('ZADD', KEYS[1], f[4] or '0', member)
        publish('task_queued', id)
        requeued[#requeued + 1] = id
      end
    end
  end
end
wake(#requeued + #returned, now)
return { requeued, failed, returned }
