-- Moves due delayed tasks to the queue, then pops up to `max` ready tasks into flight for `worker`,
-- each with a new fencing token, leased with the worker's lease (TaskStore.pull; _lib.lua:
-- lease_worker). A task whose expiry passed is not handed out: it ends REVOKED. One round trip per
-- pull; the store's clock throughout.
-- KEYS: 1 queue
-- ARGV: 1 prefix, 2 max, 3 lease ms, 4 worker, 5 '1' to resync, 6 expired result (JSON),
--       7 ms the worker waits on BLPOP when the queue is drained ('' when it does not park: a
--       sharded store's puller), then (resync only) the ids the worker holds
-- A pull that finds the queue drained parks its worker (_lib.lua: wake) for the wait that follows
-- and drops the nudges left for it (this pull saw what they were for); any other unparks it.
-- Returns { drained, token1, id1, task1 fields (a JSON array of the flat field/value list: one reply
-- string per task, not one per field), token2, ... }, or { 'halt:<ms>' } while the
-- worker is interrupted (TaskStore.interrupt: it is stopping). `drained` is '' unless the queue was
-- found empty; then the ms until the next delayed task is due, or 'e' when none is delayed.
local now = now_ms()
local max, worker = tonumber(ARGV[2]), ARGV[4]
local halted = redis.call('PTTL', P .. 'halt:' .. worker)
if halted > 0 then return { 'halt:' .. halted } end
local park = ARGV[7]
if ARGV[5] == '1' then
  -- The reply of an earlier pull was lost with the connection: tasks this worker holds but never
  -- received go back to their place in the queue (they never started: nothing is counted). Their
  -- lease is the worker's, renewed while it lives: this is how they come back (the worker pulls
  -- again at once, the slots they would have taken free).
  local held = {}
  for k = 8, #ARGV do held[ARGV[k]] = true end
  for _, id in ipairs(held_by(worker)) do
    if not held[id] then
      local m = redis.call('HMGET', tkey(id), 'status', '_qm', '_score')
      if m[1] == '6' or m[1] == '4' then
        leave_flight(id, worker)
        redis.call('ZADD', KEYS[1], m[3] or '0', member_of(id, m[2]))
      end
    end
  end
  -- Before this pull may hand the same tasks out again.
  flush_deferred()
end
-- The next delayed task: when it is due, the due ones move to the queue (bounded so one pull
-- never blocks Redis for long; the rest moves on the next pull). Else nothing moves, and a pull
-- that finds the queue drained answers its eta without reading it again.
local nxt = redis.call('ZRANGE', P .. 'delayed', 0, 0, 'WITHSCORES')
if nxt[2] and tonumber(nxt[2]) <= now then
  local due = redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(due) do
    local m = redis.call('HMGET', tkey(id), '_qm', '_score')
    if m[1] then redis.call('ZADD', KEYS[1], m[2] or '0', member_of(id, m[1])) end
    redis.call('ZREM', P .. 'delayed', id)
  end
  nxt = nil
end
local out = { '' }
local got, budget, empty = 0, max + 1000, false
while got < max and budget > 0 and not empty do
  local asked = math.min(max - got, budget)
  local popped = redis.call('ZPOPMIN', KEYS[1], asked)
  -- Fewer than asked: nothing is left in the queue.
  if #popped < 2 * asked then empty = true end
  if #popped == 0 then break end
  for k = 1, #popped, 2 do
    budget = budget - 1
    local id = string.sub(popped[k], 18)
    local key = tkey(id)
    -- One read: the whole task, which is also what the worker gets.
    local fields = redis.call('HGETALL', key)
    -- A task flushed or deleted under its queue entry is skipped, not resurrected.
    if #fields > 0 then
      -- Only the expiry is needed here: found by a scan of the field names, no table built.
      local expiry = nil
      for j = 1, #fields, 2 do
        if fields[j] == 'expiry' then
          expiry = ms_of(fields[j + 1])
          break
        end
      end
      if expiry and expiry <= now then
        local f = redis.call('HMGET', key, 'status', '_tq', 'lock_id')
        redis.call('HSET', key, 'status', '3', 'result', ARGV[6], 'time_ended', secs(now))
        became_ready(id, f[1], '3', tq_of(id, f[2]), now, f[3])
      else
        out[#out + 1] = id
        out[#out + 1] = id
        out[#out + 1] = cjson.encode(fields)
        got = got + 1
      end
    end
  end
end
-- One token per delivery from the app's counter: each delivery of a task gets a larger token than
-- the one before; the fence hash names the current delivery of each task in flight. They are
-- leased until the store's now + the lease asked, as is every task the worker holds.
if got > 0 then
  widen_flight()
  hand_out(worker, got, string.format('%d', now + tonumber(ARGV[3])))
  local token = redis.call('INCRBY', P .. 'tokens', got) - got
  for k = 2, #out, 3 do
    token = token + 1
    defer('HSET', P .. 'fence', out[k], worker .. ':' .. string.format('%d', token))
    out[k] = token
  end
end
-- Nothing left ready: stale wake-up tokens would only make blocked pulls spin (a task queued from
-- now on pushes its own). This pull learns the next delayed task's eta itself.
if got == 0 or empty then
  if park ~= '' then
    redis.call('ZADD', P .. 'parked', parked_score(now + tonumber(park), got > 0), worker)
    redis.call('DEL', P .. 'wakeup', P .. 'nudge:' .. worker)
  else
    redis.call('DEL', P .. 'wakeup')
  end
  nxt = nxt or redis.call('ZRANGE', P .. 'delayed', 0, 0, 'WITHSCORES')
  out[1] = nxt[2] and math.max(0, tonumber(nxt[2]) - now) or 'e'
elseif park ~= '' then
  redis.call('ZREM', P .. 'parked', worker)
end
return out
