-- Moves due delayed tasks to the queue, then pops up to `max` ready tasks into the in-flight set
-- owned by `worker` (TaskStore.pull). One round trip per pull.
-- KEYS: 1 queue, 2 delayed, 3 inflight (zset, score lease deadline ms), 4 owners (hash id -> worker),
--       5 wakeup
-- ARGV: 1 task key prefix, 2 now ms, 3 max, 4 lease deadline ms, 5 worker, 6 '1' to resync,
--       then (resync only) the ids the worker holds
-- Returns { next delayed eta ms or '', task1 fields (flat), task2 fields, ... }.
local prefix, now, max, deadline, worker = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
if ARGV[6] == '1' then
  -- The reply of an earlier pull was lost with the connection: tasks this worker owns but never
  -- received go back to their place in the queue (they never started, so no redelivery counts).
  local held = {}
  for k = 7, #ARGV do held[ARGV[k]] = true end
  local owners = redis.call('HGETALL', KEYS[4])
  for k = 1, #owners, 2 do
    local id = owners[k]
    if owners[k + 1] == worker and not held[id] then
      local m = redis.call('HMGET', prefix .. id, 'status', '_qm', '_score')
      if m[1] == '6' or m[1] == '4' then
        redis.call('HDEL', KEYS[4], id)
        redis.call('ZREM', KEYS[3], id)
        redis.call('ZADD', KEYS[1], m[3], m[2])
      end
    end
  end
end
-- Bounded so one pull never blocks Redis for long; the rest moves on the next pull.
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  local m = redis.call('HMGET', prefix .. id, '_qm', '_score')
  if m[1] then redis.call('ZADD', KEYS[1], m[2], m[1]) end
  redis.call('ZREM', KEYS[2], id)
end
local out = { '' }
if max > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[1], max)
  for k = 1, #popped, 2 do
    local id = string.sub(popped[k], 18)
    local fields = redis.call('HGETALL', prefix .. id)
    -- A task flushed or deleted under its queue entry is skipped, not resurrected.
    if #fields > 0 then
      redis.call('ZADD', KEYS[3], deadline, id)
      redis.call('HSET', KEYS[4], id, worker)
      out[#out + 1] = fields
    end
  end
end
if #out == 1 then
  -- Nothing ready: stale wake-up tokens would only make blocked pulls spin.
  redis.call('DEL', KEYS[5])
  local nxt = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if nxt[2] then out[1] = nxt[2] end
end
return out
