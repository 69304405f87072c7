-- Prepended to every script of the redis:// store (redis-scripts.ts): each script runs as a function
-- of one library (Redis 7 functions, loaded once per server) or, before Redis 7, as a script of its
-- own (EVALSHA). KEYS and ARGV are locals declared before this file, set at the start of each run,
-- which then calls begin_run() (below). Nothing here runs a Redis API at load time (a function
-- library is loaded without `string`, `math` or `redis.call`). ARGV[1] is always the app's
-- key prefix `<namespace>:{<name>}:`; every key the scripts touch starts with it (one Cluster slot).
-- Store-only task hash fields: _qm (queue sequence: the member in the queue zset is the sequence,
-- zero-padded to 16 digits, ':' and the id; older versions stored that whole member), _score (queue score, absent for 0), _tq (listing
-- score: time queued, store ms times 1000 plus a sequence's last 3 digits; older versions stored
-- the ms with the sequence in the fraction (a score below 1e14): see tq_ms; the wire time_queued
-- is read from it), _fin (the fencing token of the delivery whose finish was saved: tokens come
-- from one counter per app, so it names that delivery; older versions stored `worker:token`, and
-- wrote it on a retry too), _rt (`worker:token` of the delivery whose retry was saved last: a retry
-- sent again after its reply was lost is answered as saved though the task was delivered anew
-- since), _progress. Deliveries in flight are in the app's `fence` hash.
local P
-- The listings of ready tasks, in buckets (defined by _ready.lua, loaded after this file): an add,
-- a removal (gathered, written by ready_flush at the end of the run), the run's state emptied, and
-- the entries of a status still pending (added, not yet in buckets) put into its buckets.
local ready_add, ready_remove, ready_flush, ready_reset, ready_index
local READY = { ['1'] = true, ['2'] = true, ['3'] = true }

local function tkey(id) return P .. 't:' .. id end

-- Index writes and broadcasts deferred to the end of the script run (redis-scripts.ts calls
-- flush_deferred() after every script): a batch of tasks costs one variadic command per
-- (command, key), not one per task, and one PUBLISH per event carrying every id of the run,
-- space-separated (redis-events.ts splits them). No script reads an index it deferred a write to.
-- A command is sent early at 1000 arguments (Lua's unpack limit is about 8000).
-- Keyed by command then key (no string built per write): deferred[cmd][key] = { cmd, key, args... }.
local deferred, deferred_order, published, published_order = {}, {}, {}, {}
local function defer(cmd, key, a, b)
  local by = deferred[cmd]
  if not by then
    by = {}
    deferred[cmd] = by
  end
  local d = by[key]
  if not d then
    d = { cmd, key }
    by[key] = d
    deferred_order[#deferred_order + 1] = d
  end
  local n = #d
  d[n + 1] = a
  if b ~= nil then
    d[n + 2] = b
    n = n + 1
  end
  if n >= 1001 then
    redis.call(unpack(d))
    by[key] = nil
    -- The entry in deferred_order is now sent: emptied to its command and key, skipped at flush.
    for k = #d, 3, -1 do d[k] = nil end
  end
end

-- Events whose broadcasts go before any other's (publish_first).
local pinned = {}

-- Sends the broadcasts pending, each event's ids in one message, events in the order they were
-- first published, pinned ones first. Its state is emptied only when used (no table per run).
local function flush_published()
  if #published_order == 0 then return end
  for _, event in ipairs(published_order) do
    local ids = published[event]
    if ids and #ids > 0 then redis.call('PUBLISH', P .. event, table.concat(ids, ' ')) end
    published[event] = nil
  end
  published_order = {}
  for k, event in ipairs(pinned) do
    published[event] = {}
    published_order[k] = event
  end
end

-- Broadcasts `event` for task `id` (deferred: one message per event and run; every pending one
-- leaves at 1000 ids, in order).
local function publish(event, id)
  local ids = published[event]
  if not ids then
    ids = {}
    published[event] = ids
    published_order[#published_order + 1] = event
  end
  ids[#ids + 1] = id
  if #ids >= 1000 then flush_published() end
end

-- Broadcasts of `event` go before those of any other event for the rest of the run (also after
-- a flush at 1000 ids). Called before anything is published.
local function publish_first(event)
  pinned[#pinned + 1] = event
  published[event] = published[event] or {}
  table.insert(published_order, 1, event)
end

-- How many tasks each worker holds (the `held` hash: worker -> count of its entries in the fence
-- hash), kept by the pull (+ what it handed out) and by leave_flight (- per task, gathered per
-- worker for the run, one HINCRBY each): when the lease of a worker whose count is 0 ends,
-- recover drops it without reading the fence hash (a worker gone idle costs no scan). A count
-- that goes below 0 (tasks an older version handed out) is dropped: unknown, read from the fence.
local left, left_order = {}, {}

local function flush_left()
  for _, worker in ipairs(left_order) do
    if redis.call('HINCRBY', P .. 'held', worker, -left[worker]) < 0 then redis.call('HDEL', P .. 'held', worker) end
  end
  left, left_order = {}, {}
end

-- Sends the deferred writes (the ready listings' first), then the broadcasts. The state of a run
-- is emptied only where it was used: a run's fixed cost is mostly its allocations.
local function flush_deferred()
  ready_flush()
  if #deferred_order > 0 then
    for _, d in ipairs(deferred_order) do
      if #d > 2 then redis.call(unpack(d)) end
    end
    deferred, deferred_order = {}, {}
  end
  if #left_order > 0 then flush_left() end
  if #pinned > 0 then pinned = {} end
  flush_published()
end

-- The store's clock (Redis TIME), epoch ms. Every time a script compares or stamps comes from here.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Whole ms as the JSON seconds of a wire time field (shortest form).
local function secs(ms)
  local s = string.format('%.3f', ms / 1000)
  s = (string.gsub(s, '0+$', ''))
  return (string.gsub(s, '%.$', ''))
end

-- JSON seconds (or 'null', or nothing) as whole ms; nil when not a number.
local function ms_of(json)
  local n = tonumber(json or '')
  if n then return math.floor(n * 1000 + 0.5) end
  return nil
end

-- The store ms of a listing score (a number): ms times 1000 plus a sequence, or (older versions,
-- below 1e14) ms with the sequence in the fraction. A task keeps its score's form for its life:
-- older tasks list as queued before newer ones, as they were.
local function tq_ms(tq)
  if tq >= 1e14 then return math.floor(tq / 1000) end
  return math.floor(tq)
end

-- Listing score of a task: its _tq, else its listing score (tasks of older versions).
local function tq_of(id, tq)
  return tq or redis.call('ZSCORE', P .. 'all', id) or 0
end

-- Moves a task between the per-status listings (scored by time queued): the zset s:<code> of a
-- status a task leaves (queued, retry, started), the buckets of a ready one (_ready.lua).
local function move(id, from, to, tq)
  if from == to then return end
  if from then
    defer('ZREM', P .. 's:' .. from, id)
    if READY[from] then ready_remove(from, tq, id) end
  end
  if to then
    if READY[to] then ready_add(to, tq, id) else defer('ZADD', P .. 's:' .. to, tq, id) end
  end
end

-- Releases a non-overlap lock held by this task (lock_id as stored: JSON string or null).
local function release_lock(id, lock_json)
  if not lock_json or lock_json == 'null' then return end
  local lock = cjson.decode(lock_json)
  if type(lock) == 'string' and redis.call('HGET', P .. 'locks', lock) == id then redis.call('HDEL', P .. 'locks', lock) end
end

-- A member no task id can be (ids hold no space: broadcasts separate them by spaces), longer than
-- the 64 bytes up to which Redis keeps a small hash as one flat list (listpack, its default
-- hash-max-listpack-value). The fence hash holds it so that Redis keeps it as a hash table however
-- few tasks are in flight: each pull, finish and renewal then finds its entries at once, not by a
-- scan of the whole flat list (with 100 tasks in flight that scan was about 5% of Redis's work per
-- task). Readers skip it: no worker owns it (owner_of). Older versions also put it in their
-- per-task `inflight` set (score +inf: never expired).
local WIDE = ' keeps this key a hash table, not a flat list (it names no task) ........'

-- With the entries of a pull: the fence hash holds WIDE, written again with the same value by the
-- pull's deferred writes (no command of its own).
local function widen_flight()
  defer('HSET', P .. 'fence', WIDE, '-')
end

-- The task leaves the fence hash, its delivery by `owner` (the worker its fence names; nil when
-- none does) over: deferred, a script that could meet the same id again tracks it itself. Its
-- lease was its worker's (lease_worker): nothing per task to drop, one less in the worker's count.
local function leave_flight(id, owner)
  defer('HDEL', P .. 'fence', id)
  if owner then
    local n = left[owner]
    if not n then left_order[#left_order + 1] = owner end
    left[owner] = (n or 0) + 1
  end
end

-- Leases are per worker: the `leases` zset scores each worker holding tasks by when its lease
-- ends (store ms), and every task the worker holds (the fence hash) is leased until then. A pull
-- that hands out tasks and a renewal of any delivery the worker still holds set it to the store's
-- now + the lease asked (the latest wins, also when shorter); a worker whose lease ended lost
-- every task it holds (recover.lua; what it holds is counted, flush_left). One write per pull
-- and per renewal, and one per run that takes tasks out of flight, none per task: a
-- per-task lease (a zset entry written at pull, removed at finish) cost about 1 µs of Redis's
-- time per task. A live worker renews its runs every third of the lease (lease-renewer.ts), all
-- together. Older versions leased each task in the `inflight` zset (id scored by its deadline):
-- recover.lua still recovers those.
local function lease_worker(worker, deadline)
  redis.call('ZADD', P .. 'leases', deadline, worker)
end

-- `worker` was handed `n` tasks, leased until `deadline` (store ms, as text).
local function hand_out(worker, n, deadline)
  redis.call('HINCRBY', P .. 'held', worker, n)
  lease_worker(worker, deadline)
end

-- Task `id` became ready with status `to` at `now` (store ms): its id at the tail of the status's
-- ended list, which purge walks from its head, after a marker ` <ms>` (a space: no id holds one)
-- naming the end ms of the ids after it, one per run and list (a run has one `now`): a batch of
-- finishes costs one marker, an entry is the id alone. A list (not a zset scored by the end): tasks
-- end in the store clock's order, and a list entry costs a fraction of a zset's (~18 bytes with a
-- 16-character id, against ~120). Older versions pushed `<ms>:<id>` entries (purge reads both)
-- and kept `ended:<code>` zsets: purge still walks them.
local ended_marks = {}
local function ended_at(id, to, now)
  local key = P .. 'ends:' .. to
  if ended_marks[key] ~= now then
    ended_marks[key] = now
    defer('RPUSH', key, ' ' .. string.format('%d', now))
  end
  defer('RPUSH', key, id)
end

-- A task that became ready (status already written): listings, ended list, lock, task_done.
local function became_ready(id, from, to, tq, now, lock_json)
  move(id, from, to, tq)
  ended_at(id, to, now)
  release_lock(id, lock_json)
  publish('task_done', id)
end

-- The queue member of task `id` whose _qm is `qm` (a sequence, or a whole member stored by older
-- versions); nil for none. A zero-padded sequence keeps FIFO within a priority (equal scores sort by
-- member).
local function member_of(id, qm)
  if not qm then return nil end
  if string.find(qm, ':', 1, true) then return qm end
  return string.rep('0', 16 - #qm) .. qm .. ':' .. id
end

-- A new queue member of task `id`, and the _qm that stands for it.
local function new_member(id)
  local seq = tostring(redis.call('INCR', P .. 'seq'))
  return member_of(id, seq), seq
end

-- Workers whose pull found the queue drained and who now wait on BLPOP (pull.lua parks them):
-- the `parked` zset, each worker scored by when its parking lapses (store ms), plus ACTIVE when
-- that pull brought tasks. A wake-up goes first to the workers parked last after bringing tasks,
-- then to those parked last after an empty pull (a wait that ended with nothing), one token on
-- each one's own nudge list: one task at a time then keeps going to the same worker, whose code
-- and caches are warm, while the others sleep (with tokens on the app's list, Redis serves the
-- worker that waited longest: every worker in turn). A worker is unparked by its next pull, by
-- TaskStore.interrupt and release (it stops) and by the recovery of a lost worker; a parking that
-- was never unparked (a crash the monitor has not seen yet) lapses after the worker's wait, and
-- the periodic recovery drops it (drop_lapsed).
local ACTIVE = 1e13

-- The score of a parking until `lapse` (store ms); `active`: the pull brought tasks.
local function parked_score(lapse, active)
  return string.format('%d', active and lapse + ACTIVE or lapse)
end

-- Drops the parkings that lapsed by `now`.
local function drop_lapsed(now)
  redis.call('ZREMRANGEBYSCORE', P .. 'parked', '-inf', now)
  redis.call('ZREMRANGEBYSCORE', P .. 'parked', string.format('%d', ACTIVE), string.format('%d', now + ACTIVE))
end

-- Up to n workers parked now, taken off `parked`: those that brought tasks first, each group parked
-- last first (ZPOPMAX pops in that order: live parkings of working workers, lapsed ones of those,
-- live ones after an empty wait, lapsed ones of those). A lapsed parking popped is only dropped (the
-- recovery would drop it: drop_lapsed); the lapsed ones after an empty wait that are left stay for it.
local function unpark(n, now)
  local parked, workers = P .. 'parked', {}
  local live_active = now + ACTIVE
  while #workers < n do
    local want = n - #workers
    local popped = redis.call('ZPOPMAX', parked, want)
    for k = 1, #popped, 2 do
      local score = tonumber(popped[k + 1])
      if score > live_active or (score > now and score < ACTIVE) then
        workers[#workers + 1] = popped[k]
      elseif score <= now then
        -- Lapsed after an empty wait: every parking left scores lower.
        return workers
      end
    end
    if #popped < 2 * want then break end
  end
  return workers
end

local function nudge(worker)
  local key = P .. 'nudge:' .. worker
  redis.call('LPUSH', key, '1')
  -- A token nobody takes (the worker is gone) is not kept.
  redis.call('PEXPIRE', key, 60000)
end

-- Wakes up to n pulls blocked on BLPOP: the workers parked last, each on its own nudge list, then
-- any other on the app's wake-up list (tokens capped at 64).
local function wake(n, now)
  if n <= 0 then return end
  local workers = unpark(n, now)
  if #workers > 0 then
    for _, worker in ipairs(workers) do nudge(worker) end
    n = n - #workers
    if n <= 0 then return end
  end
  local tokens = {}
  for k = 1, math.min(n, 64) do tokens[k] = '1' end
  redis.call('LPUSH', P .. 'wakeup', unpack(tokens))
  redis.call('LTRIM', P .. 'wakeup', 0, 63)
end

-- The fence hash holds, for each task in flight, its current delivery `worker:token`; tokens come
-- from one counter per app, so each delivery of a task gets a larger one than the one before.
local function holds(id, worker, token)
  return redis.call('HGET', P .. 'fence', id) == worker .. ':' .. token
end

-- The worker of a fence value `worker:token` (worker ids may hold colons, tokens are digits).
local function owner_of(fence)
  return fence and string.match(fence, '^(.*):%d+$')
end

-- Up to `max` ids held by the workers of set `workers` (worker -> true), in one read of the fence
-- hash (bounded by what the app has in flight), and the set of those workers holding more than
-- that (ids left out).
local function held_by_any(workers, max)
  local ids, more, all = {}, {}, redis.call('HGETALL', P .. 'fence')
  for k = 1, #all, 2 do
    local owner = owner_of(all[k + 1])
    if owner and workers[owner] then
      if #ids < max then ids[#ids + 1] = all[k] else more[owner] = true end
    end
  end
  return ids, more
end

-- The ids `worker` holds in flight, from the fence hash: no per-worker index is written on every
-- pull and finish. Older versions also kept an `owned:<worker>` set: dropped here (the fence hash
-- names the same deliveries).
local function held_by(worker)
  redis.call('DEL', P .. 'owned:' .. worker)
  return (held_by_any({ [worker] = true }, math.huge))
end

-- The current deliveries of `ids` (false where not in flight), one HMGET per 1000.
local function fences(ids)
  local out = {}
  for from = 1, #ids, 1000 do
    local to = math.min(#ids, from + 999)
    local r = redis.call('HMGET', P .. 'fence', unpack(ids, from, to))
    for k = from, to do out[k] = r[k - from + 1] end
  end
  return out
end


-- What a task field that is not stored stands for (redis-codec.ts): a new task is stored without
-- its null fields and those at these defaults; its id is its key's, its time_queued its _tq's.
local DEFAULTS = { retries = '0', priority = '0', max_retries = '0', retry_delay = '0', redeliveries = '0', meta = '{}', kwargs = '{}' }

-- True when task `id` holds `json` (a JSON value) in `field`, stored or implied.
local function stored_as(id, field, json)
  local v = redis.call('HGET', tkey(id), field)
  if v then return v == json end
  if field == 'id' then
    local ok, sent_id = pcall(cjson.decode, json)
    return ok and sent_id == id
  end
  if field == 'time_queued' then
    local tq = tonumber(redis.call('HGET', tkey(id), '_tq') or '')
    return tq ~= nil and ms_of(json) == tq_ms(tq)
  end
  return json == (DEFAULTS[field] or 'null')
end

-- The value a write sends for `field` (ARGV[from..to], field/value pairs), else `current`.
local function sent(field, from, to, current)
  for k = from, to, 2 do
    if ARGV[k] == field then return ARGV[k + 1] end
  end
  return current
end

-- A write resent after its reply was lost: the delivery whose finish (or, for older versions, retry)
-- was saved (_fin: its token, or `worker:token` as older versions stored it) is this one, and the
-- task holds the values of the fields this write sends (ARGV[from..to], field/value pairs; `skip`
-- names a field the store set itself). Any other write is fenced off.
local function already_saved(id, fin, worker, token, from, to, skip)
  if fin ~= token and fin ~= worker .. ':' .. token then return false end
  for k = from, to, 2 do
    if ARGV[k] ~= skip and not stored_as(id, ARGV[k], ARGV[k + 1]) then return false end
  end
  return true
end

-- ZMSCORE of `members` (false where absent), 1000 at a time; one ZSCORE each before Redis 6.2.
local function scores(key, members)
  local out = {}
  for from = 1, #members, 1000 do
    local to = math.min(#members, from + 999)
    local r = redis.pcall('ZMSCORE', key, unpack(members, from, to))
    if type(r) == 'table' and r.err then
      for k = from, to do out[k] = redis.call('ZSCORE', key, members[k]) end
    else
      for k = from, to do out[k] = r[k - from + 1] end
    end
  end
  return out
end

-- Whether a run is under way: set by begin_run, cleared by end_run once its writes are sent. A run
-- that failed half-way leaves it set (and some state): the next run starts from emptied state.
local running = false

-- Starts a run: the app's prefix from ARGV, and the state of a run above emptied when that run
-- failed half-way (a function library keeps its locals from one run to the next).
local function begin_run()
  P = ARGV[1]
  if running then
    deferred, deferred_order, published, published_order, pinned = {}, {}, {}, {}, {}
    left, left_order = {}, {}
    ended_marks = {}
    ready_reset()
  end
  running = true
end

-- Ends a run whose deferred writes and broadcasts were sent (flush_deferred).
local function end_run()
  if next(ended_marks) then ended_marks = {} end
  running = false
end
