-- Tasks whose lease expired (or every task of a dead worker) go back to the queue as QUEUED with
-- retries and redeliveries counted, or past the bound end FAILURE, lock released (TaskStore.recover).
-- KEYS: 1 inflight, 2 owners, 3 locks, 4 queue, 5 seq, 6 wakeup, 7 ended (zset, score time ended ms)
-- ARGV: 1 task key prefix, 2 now ms, 3 now seconds (JSON), 4 max redeliveries, 5 worker ('' for
--       expired leases), 6 task_queued channel, 7 task_done channel, 8 lost message for 1
--       redelivery (JSON), 9 lost message template (JSON) with 987654321 standing for the count
-- Returns { requeued ids, failed ids }.
local prefix, maxRedeliveries, worker = ARGV[1], tonumber(ARGV[4]), ARGV[5]
local ids = {}
if worker ~= '' then
  local owners = redis.call('HGETALL', KEYS[2])
  for k = 1, #owners, 2 do
    if owners[k + 1] == worker then ids[#ids + 1] = owners[k] end
  end
else
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, 1000)
end
local requeued, failed, tokens = {}, {}, 0
for _, id in ipairs(ids) do
  local key = prefix .. id
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  local f = redis.call('HMGET', key, 'status', 'retries', 'redeliveries', 'lock_id', '_score')
  -- Skip tasks gone (flushed) or already ready: nothing to recover.
  if f[1] and f[1] ~= '1' and f[1] ~= '2' and f[1] ~= '3' then
    local redeliveries = tonumber(f[3] or '0') or 0
    if redeliveries >= maxRedeliveries then
      local message = ARGV[8]
      if redeliveries ~= 1 then message = string.gsub(ARGV[9], '987654321', tostring(redeliveries)) end
      redis.call('HSET', key, 'status', '2', 'result', message, 'time_ended', ARGV[3])
      redis.call('ZADD', KEYS[7], ARGV[2], id)
      local lock = f[4] and cjson.decode(f[4])
      if type(lock) == 'string' and redis.call('HGET', KEYS[3], lock) == id then redis.call('HDEL', KEYS[3], lock) end
      redis.call('PUBLISH', ARGV[7], id)
      failed[#failed + 1] = id
    else
      local seq = tostring(redis.call('INCR', KEYS[5]))
      local member = string.rep('0', 16 - #seq) .. seq .. ':' .. id
      redis.call('HSET', key, 'status', '6', 'retries', tostring((tonumber(f[2] or '0') or 0) + 1),
        'redeliveries', tostring(redeliveries + 1), 'worker', 'null', 'time_started', 'null', 'eta', 'null',
        '_qm', member)
      redis.call('ZADD', KEYS[4], f[5] or '0', member)
      redis.call('PUBLISH', ARGV[6], id)
      requeued[#requeued + 1] = id
      tokens = tokens + 1
    end
  end
end
if tokens > 0 then
  local t = {}
  for k = 1, math.min(tokens, 64) do t[k] = '1' end
  redis.call('LPUSH', KEYS[6], unpack(t))
  redis.call('LTRIM', KEYS[6], 0, 63)
end
return { requeued, failed }
