-- Saves a task in RETRY, drops it from in-flight and queues it again after its retry_delay, on the
-- store's clock: the script sets eta (TaskStore.retry). Fenced like finish.
-- KEYS: 1 queue
-- ARGV: 1 prefix, 2 id, 3 worker, 4 token, then the changed field/value pairs
-- Returns 1 (saved; also for a run resent after a lost reply) or 0 (fenced off).
local id, worker, token = ARGV[2], ARGV[3], ARGV[4]
local key = tkey(id)
local fence = worker .. ':' .. token
local f = redis.call('HMGET', key, 'status', '_tq', '_fin', '_rt')
local current = redis.call('HGET', P .. 'fence', id)
if current ~= fence then
  -- Sent again after its reply was lost: _rt names the delivery whose retry was saved last, so
  -- the answer is the same whatever the deliveries since did (the task may run again already).
  -- Tasks retried by older versions have no _rt: they named the delivery in _fin, and what they
  -- hold is compared instead.
  if f[4] == fence then return 1 end
  if not current and already_saved(id, f[3], worker, token, 5, #ARGV, 'eta') then return 1 end
  return 0
end
local now = now_ms()
if #ARGV > 4 then redis.call('HSET', key, unpack(ARGV, 5, #ARGV)) end
local g = redis.call('HMGET', key, 'status', 'retry_delay', '_score')
local delay = math.floor((tonumber(g[2] or '0') or 0) * 1000 + 0.5)
local member, qm = new_member(id)
leave_flight(id, worker)
redis.call('HSET', key, '_qm', qm, '_rt', fence, 'eta', delay > 0 and secs(now + delay) or 'null')
move(id, f[1], g[1], tq_of(id, f[2]))
if delay > 0 then
  redis.call('ZADD', P .. 'delayed', now + delay, id)
else
  redis.call('ZADD', KEYS[1], g[3] or '0', member)
end
wake(1, now)
publish('task_queued', id)
return 1
