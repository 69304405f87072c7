-- Claims a periodic run for a sharded queue (redis-shards.ts), on its claim shard: the task goes
-- to the shard its id names, in a second step, so the claim leaves the task in a journal of
-- pending claims in the same atomic step; the client queues it (with an idempotency key: queueing
-- it twice stores it once) and then deletes the entry. Whoever claims next settles the entries
-- left by a client that failed between the two steps.
-- KEYS: 1 last runs (hash), 2 pending claims (hash: task id -> entry), both of the claim shard
-- ARGV: 1 job name, 2 its expected previous run ms ('' for none stored), 3 its new run ms,
--       4 the task's id, 5 the pending entry (JSON, the client's)
-- Returns { 1 claimed or -1 not, then the pending entries found before this claim (id, entry)... }.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pending = redis.call('HGETALL', KEYS[2])
local function answer(status)
  local out = { status }
  for i = 1, #pending do out[#out + 1] = pending[i] end
  return out
end
-- Due on the store's clock, a minute's grace (as queue.lua).
if tonumber(ARGV[3]) > now + 60000 then return answer(-1) end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  if current then return answer(-1) end
elseif not current or tonumber(current) ~= tonumber(ARGV[2]) then
  return answer(-1)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
return answer(1)
