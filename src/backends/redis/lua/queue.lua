-- Stores and queues tasks, atomically per task (TaskStore.queue).
-- KEYS: 1 queue (zset, score -priority, member <seq>:<id>), 2 delayed (zset, score eta ms, member id),
--       3 locks (hash lockId -> taskId), 4 seq (counter), 5 all (zset, score time queued ms, member id),
--       6 wakeup (list of tokens for blocked pulls)
-- ARGV: 1 task key prefix, 2 now ms, 3 task_queued channel, 4 number of tasks, then per task:
--       id, lock id ('' for none), eta ms ('' for none), queue score, time queued ms, number of
--       fields N, then N field/value pairs (each value JSON-encoded by the client).
-- Returns one entry per task: its id, or '' when a non-overlap lock held it back.
local prefix, now, channel = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local n = tonumber(ARGV[4])
local out = {}
local stored = 0
local i = 5
for t = 1, n do
  local id, lock, eta, score, queued = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local nfields = tonumber(ARGV[i + 5])
  local first = i + 6
  i = first + 2 * nfields
  local key = prefix .. id
  -- A command resent after a lost reply must not turn its own task into "locked".
  if redis.call('EXISTS', key) == 1 then
    out[t] = id
  else
    local free = true
    if lock ~= '' then
      local holder = redis.call('HGET', KEYS[3], lock)
      if holder then
        local status = redis.call('HGET', prefix .. holder, 'status')
        if status == '6' or status == '5' or status == '4' then free = false end
      end
    end
    if not free then
      out[t] = ''
    else
      if lock ~= '' then redis.call('HSET', KEYS[3], lock, id) end
      local seq = tostring(redis.call('INCR', KEYS[4]))
      -- Equal scores sort by member: a zero-padded sequence keeps FIFO within a priority.
      local member = string.rep('0', 16 - #seq) .. seq .. ':' .. id
      redis.call('HSET', key, unpack(ARGV, first, first + 2 * nfields - 1))
      redis.call('HSET', key, '_qm', member, '_score', score)
      if eta ~= '' and tonumber(eta) > now then
        redis.call('ZADD', KEYS[2], eta, id)
      else
        redis.call('ZADD', KEYS[1], score, member)
      end
      redis.call('ZADD', KEYS[5], queued, id)
      redis.call('PUBLISH', channel, id)
      stored = stored + 1
      out[t] = id
    end
  end
end
if stored > 0 then
  -- One token per stored task (also delayed ones: a blocked pull re-reads the next eta), capped.
  local tokens = {}
  for k = 1, math.min(stored, 64) do tokens[k] = '1' end
  redis.call('LPUSH', KEYS[6], unpack(tokens))
  redis.call('LTRIM', KEYS[6], 0, 63)
end
return out
