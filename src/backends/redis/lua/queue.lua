-- Stores and queues tasks, atomically per task (TaskStore.queue), and claims a periodic run in the
-- same step when asked (TaskStore.claimRun). At most a bounded chunk of tasks per run: the client
-- splits large batches.
-- KEYS: 1 queue (routing only: every key is derived from the prefix)
-- ARGV: 1 prefix, 2 number of tasks, 3 idempotency window ms, 4 claimed job name ('' for none),
--       5 its expected previous run ms ('' for none stored), 6 its new run ms, then per task:
--       id, lock id ('' for none), eta ms ('' for none), expiry ms ('' for none), queue score,
--       time queued ms (the producer's clock), idempotency key ('' for none), job name, number of
--       fields N, then N field/value pairs (each value JSON-encoded by the client).
-- The store stamps time_queued with its own clock and shifts eta and expiry by the same amount.
-- Returns one entry per task: its id (or the id remembered for its idempotency key), or '' when a
-- non-overlap lock held it back; -1 alone when the periodic run was not claimed (someone else
-- claimed it, or it is not due yet on the store's clock).
local now = now_ms()
local n, window, claim = tonumber(ARGV[2]), ARGV[3], ARGV[4]
if claim ~= '' then
  -- A run is claimed when it is due on the store's clock (a minute's grace): a scheduler whose
  -- clock runs ahead cannot take runs early, nor stamp a future last run that others would skip to.
  if tonumber(ARGV[6]) > now + 60000 then return -1 end
  local current = redis.call('HGET', P .. 'lastruns', claim)
  if ARGV[5] == '' then
    if current then return -1 end
  elseif not current or tonumber(current) ~= tonumber(ARGV[5]) then
    return -1
  end
  redis.call('HSET', P .. 'lastruns', claim, ARGV[6])
end
local out, stored, i = {}, 0, 7
for t = 1, n do
  local id, lock, eta, expiry, score = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local queued, idem, name, nfields = tonumber(ARGV[i + 5]), ARGV[i + 6], ARGV[i + 7], tonumber(ARGV[i + 8])
  local first = i + 9
  i = first + 2 * nfields
  local key = tkey(id)
  local known = idem ~= '' and redis.call('GET', P .. 'idem:' .. idem)
  if known then
    out[t] = known
  elseif redis.call('EXISTS', key) == 1 then
    -- A command resent after a lost reply must not turn its own task into "locked".
    out[t] = id
  else
    local free = true
    if lock ~= '' then
      local holder = redis.call('HGET', P .. 'locks', lock)
      if holder then
        local status = redis.call('HGET', tkey(holder), 'status')
        if status == '6' or status == '5' or status == '4' then free = false end
      end
    end
    if not free then
      out[t] = ''
    else
      if lock ~= '' then redis.call('HSET', P .. 'locks', lock, id) end
      local seq = redis.call('INCR', P .. 'seq')
      local member = string.rep('0', 16 - #tostring(seq)) .. seq .. ':' .. id
      -- Listing score: the store's ms, with the sequence in the fraction so that tasks queued in
      -- one ms keep their order (a string: Lua would print the number with 14 digits only).
      local tq = string.format('%.0f.%03d', now, seq % 1000)
      local shift = now - queued
      -- One HSET: the client's fields, then the store's (later pairs win).
      local h = { unpack(ARGV, first, first + 2 * nfields - 1) }
      local extra = { '_qm', member, '_score', score, '_tq', tq, 'time_queued', secs(now), 'status', '6' }
      local due = nil
      if eta ~= '' then
        due = tonumber(eta) + shift
        extra[#extra + 1] = 'eta'
        extra[#extra + 1] = secs(due)
      end
      if expiry ~= '' then
        extra[#extra + 1] = 'expiry'
        extra[#extra + 1] = secs(tonumber(expiry) + shift)
      end
      for k = 1, #extra do h[#h + 1] = extra[k] end
      redis.call('HSET', key, unpack(h))
      if due and due > now then
        redis.call('ZADD', P .. 'delayed', due, id)
      else
        redis.call('ZADD', KEYS[1], score, member)
      end
      redis.call('ZADD', P .. 'all', tq, id)
      redis.call('ZADD', P .. 's:6', tq, id)
      redis.call('ZADD', P .. 'n:' .. name, tq, id)
      if idem ~= '' then redis.call('SET', P .. 'idem:' .. idem, id, 'PX', window) end
      redis.call('PUBLISH', P .. 'task_queued', id)
      stored = stored + 1
      out[t] = id
    end
  end
end
-- One token per stored task (also delayed ones: a blocked pull re-reads the next eta).
wake(stored)
return out
