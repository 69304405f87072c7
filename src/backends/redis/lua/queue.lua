-- Stores and queues tasks, atomically per task (TaskStore.queue), and claims a periodic run in the
-- same step when asked (TaskStore.claimRun). At most a bounded chunk of tasks per run: the client
-- splits large batches.
-- KEYS: 1 queue (routing only: every key is derived from the prefix)
-- ARGV: 1 prefix, 2 number of tasks, 3 idempotency window ms, 4 claimed job name ('' for none),
--       5 its expected previous run ms ('' for none stored), 6 its new run ms, 7 '1' when the ids
--       were just made by the producer and this is the run's first send (no task can be stored
--       under them yet: none is looked for; redis-queue.ts sends the run again without it), then
--       per task:
--       id, '' when the task has no options (no lock, eta, expiry or idempotency key, priority 0)
--       or '1' followed by its lock id ('' for none), eta ms ('' for none), expiry ms ('' for
--       none), queue score, time queued ms (the producer's clock) and idempotency key ('' for
--       none), then its number of fields N and N field/value pairs (each value JSON-encoded by
--       the client; null fields and those this script writes are left out).
-- The store stamps time_queued and status itself, with its own clock, and shifts eta and expiry
-- by the same amount.
-- Returns one entry per task: its id (or the id remembered for its idempotency key), or '' when a
-- non-overlap lock held it back; -1 alone when the periodic run was not claimed (someone else
-- claimed it, or it is not due yet on the store's clock).
local now = now_ms()
local now_s = string.format('%d', now)
local n, window, claim, fresh = tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[7] == '1'
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
-- Queue sequence numbers for the whole batch (gaps are harmless: they only order).
local seq0 = redis.call('INCRBY', P .. 'seq', n) - n
local out, stored, seen, i = {}, 0, {}, 8
for t = 1, n do
  local id, lock, eta, expiry, score, queued, idem = ARGV[i], '', '', '', '0', now, ''
  local at = i + 2
  if ARGV[i + 1] == '1' then
    lock, eta, expiry, score, queued, idem = ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], tonumber(ARGV[i + 6]), ARGV[i + 7]
    at = i + 8
  end
  local nfields = tonumber(ARGV[at])
  local first = at + 1
  i = first + 2 * nfields
  local key = tkey(id)
  local known = idem ~= '' and redis.call('GET', P .. 'idem:' .. idem)
  if known then
    out[t] = known
  elseif seen[id] or (not fresh and redis.call('EXISTS', key) == 1) then
    -- Stored already: a command resent after a lost reply must not turn its own task into
    -- "locked", nor store it twice (a resend is never marked fresh).
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
      seen[id] = true
      if lock ~= '' then redis.call('HSET', P .. 'locks', lock, id) end
      local seq = seq0 + t
      local qm = string.format('%d', seq)
      local member = member_of(id, qm)
      -- Listing score: the store's ms times 1000 plus the sequence's last 3 digits, so that tasks
      -- queued in one ms keep their order; an integer (exact in a double until 2255), which a small
      -- zset keeps as an integer, not a string it parses again at every insert (_lib.lua).
      local tq = now_s .. string.format('%03d', seq % 1000)
      local shift = now - queued
      -- One HSET: the store's fields, then the client's non-null ones straight from ARGV (no table
      -- built per task; the client leaves out every field the store writes). time_queued is read
      -- from _tq.
      redis.call('HSET', key, '_qm', qm, '_tq', tq, 'status', '6', unpack(ARGV, first, first + 2 * nfields - 1))
      -- Rarer store fields in a second HSET: a queue score of 0 (priority 0) is not stored.
      local more, due = nil, nil
      if score ~= '0' then more = { '_score', score } end
      if eta ~= '' then
        due = tonumber(eta) + shift
        more = more or {}
        more[#more + 1] = 'eta'
        more[#more + 1] = secs(due)
      end
      if expiry ~= '' then
        more = more or {}
        more[#more + 1] = 'expiry'
        more[#more + 1] = secs(tonumber(expiry) + shift)
      end
      if more then redis.call('HSET', key, unpack(more)) end
      if due and due > now then
        defer('ZADD', P .. 'delayed', due, id)
      else
        defer('ZADD', KEYS[1], score, member)
      end
      -- Listed under its status only: a job name's listing reads the status listings (older
      -- versions also kept n:<name> zsets, which purge empties).
      defer('ZADD', P .. 's:6', tq, id)
      if idem ~= '' then redis.call('SET', P .. 'idem:' .. idem, id, 'PX', window) end
      publish('task_queued', id)
      stored = stored + 1
      out[t] = id
    end
  end
end
-- One token per stored task (also delayed ones: a blocked pull re-reads the next eta).
wake(stored, now)
return out
