-- The listings of ready tasks (SUCCESS, FAILURE, REVOKED: statuses 1, 2, 3), loaded after _lib.lua
-- (redis-scripts.ts), whose forward-declared ready_add, ready_remove, ready_flush and ready_reset
-- it defines (list.lua reads the buckets with the helpers here). A ready task stays listed until
-- purged: with resultTtl, a store keeps many, so each listing entry counts. In a sorted set of more
-- than 128 entries (a skip list) an entry takes about 120 bytes; in a small list (a listpack) about
-- 26, and RPUSH costs no search (a small sorted set is flat too, but each ZADD scans it: that cost
-- a third more of Redis's time per task). So a ready status lists its tasks in buckets of at most
-- BUCKET_MAX entries:
--   rx:<code>         the buckets of the status: member `<n>:<base>` (n from the counter rn, base
--                     the score the bucket was made for), scored by the bucket's lower bound.
--                     Bucket n holds the scores from its bound up to the next bucket's (excluded),
--                     so the buckets walked by bound, each sorted, list the status in score order;
--   r:<code>:<member> a bucket: a list of `<offset>:<id>`, in no order, the offset being the
--                     task's listing score (time queued, _tq) less the bucket's base, in decimal:
--                     a few digits (tasks of a bucket were queued close together), not 16;
--   rt:<code>         per bucket member, the highest score ever added to it (removals leave it: an
--                     upper bound of its entries), so that entries appended to the last bucket
--                     need no read of the bucket (reading and parsing 128 entries cost about as
--                     much as the rest of the listing's work). A bucket written before it was kept
--                     has none: it is read as before.
-- Entries with equal scores stay in one bucket. An entry below every bound goes to the first bucket,
-- whose bound goes down to it (its base stays: offsets may be negative); an emptied bucket leaves
-- rx. Entries that do not fit in their bucket are spread over new ones: appended to the last bucket
-- (tasks mostly end in the order they were queued), a worker's batch starts the next bucket and a
-- larger group fills the last one first (add_group); else the bucket and they are cut in halves
-- (room for late entries). Older versions listed ready tasks in
-- s:<code> zsets: list.lua and purge.lua still read those. Adds and removals are gathered during a
-- run and written by ready_flush (flush_deferred): the entries of one bucket in one command.
--   rp:<code>         entries added by runs that add a few (at most FEW) of the status, not yet
--                     in its buckets: a list of `<score>:<id>`, one RPUSH a run (its reply the
--                     list's length). Once it holds INDEX_AT entries, the run that filled it
--                     writes them into the buckets (ready_index), and so does every run that adds
--                     more than FEW (with its own), every listing and every purge. A task that
--                     ends alone then costs one command of listing, not four (the last bucket's
--                     bound and highest score read, the push, the highest score written); a batch
--                     is written into the buckets at once (going through the pending list too
--                     cost about 1 µs of Redis's time per task). Older versions wrote the buckets
--                     at once: their entries are never here.
local BUCKET_MAX = 128
-- Runs adding at most this many entries of a status leave them pending; their pending entries
-- are written into buckets once there are INDEX_AT.
local FEW, INDEX_AT = 8, 128
-- The ready statuses, in the order their entries are written.
local CODES = { '1', '2', '3' }
-- Groups of up to this many entries are pushed before the bucket's length is known (add_group).
local PUSH_FIRST = 8
-- pending[code] = { { score, id }, ... } to add; dropping likewise to remove.
local pending, dropping = {}, {}

ready_reset = function()
  pending, dropping = {}, {}
end

-- A number as decimal text, the same for the same number whatever form it was read in (scores in
-- the index, the listing's rows and cursor; offsets in entries).
local function decimal(x)
  return string.format(x % 1 == 0 and '%d' or '%.17g', x)
end

-- The order of entries { score, id }: by score, then id.
local function before(x, y)
  return x[1] < y[1] or (x[1] == y[1] and x[2] < y[2])
end

-- Sorts entries { score, id }, unless they are in order already (tasks mostly end in the order they
-- were queued: one pass instead of a sort calling back into Lua for every comparison).
local function sort_entries(list)
  local prev = list[1]
  for k = 2, #list do
    local e = list[k]
    if e[1] < prev[1] or (e[1] == prev[1] and e[2] < prev[2]) then
      table.sort(list, before)
      return
    end
    prev = e
  end
end

-- A bucket's member `<n>:<base>` read: its base score.
local function base_of(member)
  return tonumber(string.match(member, ':(.*)$'))
end

-- The entry of task `id` with score `num` in the bucket of base `base`.
local function entry_in(base, num, id)
  return decimal(num - base) .. ':' .. id
end

-- An entry of the bucket of base `base` read back: its score and id.
local function ready_entry(base, entry)
  local at = string.find(entry, ':', 1, true)
  return base + tonumber(string.sub(entry, 1, at - 1)), string.sub(entry, at + 1)
end

local function push(into, code, tq, id)
  local list = into[code]
  if not list then
    list = {}
    into[code] = list
  end
  list[#list + 1] = { tonumber(tq), id }
end

ready_add = function(code, tq, id) push(pending, code, tq, id) end
ready_remove = function(code, tq, id) push(dropping, code, tq, id) end

-- A bucket: { key, member, base, lo, lo_text, hi } (hi: the next bucket's bound, nil when last,
-- false until read).
local function bucket(code, member, lo, lo_text, hi)
  return { key = P .. 'r:' .. code .. ':' .. member, member = member, base = base_of(member), lo = lo, lo_text = lo_text, hi = hi }
end

-- A new bucket for score `num`, its base, bounded by `bound` (default `num`, else below it).
local function open(code, num, bound)
  local text = decimal(num)
  local member = redis.call('INCR', P .. 'rn') .. ':' .. text
  local lo = bound or num
  local lo_text = bound and decimal(bound) or text
  redis.call('ZADD', P .. 'rx:' .. code, lo_text, member)
  return bucket(code, member, lo, lo_text, nil)
end

-- The bucket where score `num` goes. `create` (an add): a status without buckets gets one, and a
-- score below every bound lowers the first bucket's to it; else (a removal) nil for a score no
-- bucket holds. An add reads the last bucket first (one read: tasks mostly end in the order they
-- were queued), which is where any score at or above its bound goes.
local function locate(code, num, create)
  local index = P .. 'rx:' .. code
  if create then
    local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
    if not last[1] then return open(code, num) end
    local lo = tonumber(last[2])
    if num >= lo then return bucket(code, last[1], lo, last[2], nil) end
  end
  local text = decimal(num)
  local found = redis.call('ZREVRANGEBYSCORE', index, text, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #found > 0 then return bucket(code, found[1], tonumber(found[2]), found[2], false) end
  if not create then return nil end
  -- Below every bound (an add found the index not empty): the first bucket's goes down to it.
  local first = redis.call('ZRANGE', index, 0, 0)
  redis.call('ZADD', index, text, first[1])
  return bucket(code, first[1], num, text, false)
end

-- The bound of the bucket after `b` (nil when `b` is the last), read once.
local function upper(code, b)
  if b.hi == false then
    local nxt = redis.call('ZRANGEBYSCORE', P .. 'rx:' .. code, '(' .. b.lo_text, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    b.hi = nxt[2] and tonumber(nxt[2]) or nil
  end
  return b.hi
end

-- Whether score `num` falls in bucket `b`.
local function holds_score(code, b, num)
  if num < b.lo then return false end
  local hi = upper(code, b)
  return hi == nil or num < hi
end

-- The RPUSH of entries `group` ({ score, id }) into bucket `b`.
local function push_args(b, group)
  local args = { 'RPUSH', b.key }
  for _, e in ipairs(group) do args[#args + 1] = entry_in(b.base, e[1], e[2]) end
  return args
end

-- Records `top` as the highest score of bucket `b` (rt:<code>).
local function set_top(code, b, top)
  redis.call('HSET', P .. 'rt:' .. code, b.member, decimal(top))
end

-- Writes sorted entries `all` ({ score, id }) into bucket `b` (emptied, or nil: a new bucket
-- first, bounded by `bound` when given), starting a new bucket (its base and bound the score of
-- its first entry) past `chunk` entries, between different scores. Each bucket's highest score is
-- its last entry's.
local function spread(code, b, all, chunk, bound)
  b = b or open(code, all[1][1], bound)
  local args, count = { 'RPUSH', b.key }, 0
  for k, e in ipairs(all) do
    if count >= chunk and e[1] ~= all[k - 1][1] then
      if #args > 2 then redis.call(unpack(args)) end
      set_top(code, b, all[k - 1][1])
      b = open(code, e[1])
      args, count = { 'RPUSH', b.key }, 0
    end
    args[#args + 1] = entry_in(b.base, e[1], e[2])
    count = count + 1
    if #args >= 1000 then
      redis.call(unpack(args))
      args = { 'RPUSH', b.key }
    end
  end
  if #args > 2 then redis.call(unpack(args)) end
  set_top(code, b, all[#all][1])
end

-- How many entries bucket `b` (holding `size`, the highest score `top` or nil when not recorded)
-- may hold once `group` is added to it. A worker's batch (up to half a bucket) above the entries of
-- the last bucket leaves room there for one more as large: the batch another worker pulled just
-- before it often ends just after it, below its scores, and then goes into that bucket. Filled to
-- 128 instead, the bucket was split (read, sorted and written again) about once every five
-- batches in the bench's rounds (119 splits of 30,000 tasks, 7 with the room kept), and at every
-- other batch when two workers' batches end in turns, each a little late: 8.4–12.7 µs of Redis's
-- time per finished task there against 10.0–16.9.
local function room_for(code, b, group, size, top)
  if top and size > 0 and #group <= BUCKET_MAX / 2 and group[1][1] > top and upper(code, b) == nil then
    return BUCKET_MAX - #group
  end
  return BUCKET_MAX
end

-- Adds `group` (entries in score order) to bucket `b`: pushed when they fit (room_for); else,
-- above the last bucket's entries, they go on in new buckets; else the bucket's entries and theirs
-- are sorted and cut in halves (the first stays in `b`: a split reads, sorts and writes again
-- about 180 entries). A group of up to half a bucket (a worker's batch) that does not fit in the
-- last bucket starts a new one bounded just above that one's highest score, not at the group's
-- lowest: tasks that end a little late (a batch of another worker, queued just before the batch
-- that ended first) go into the room left beside that batch (room_for), not into a full bucket,
-- which they would split. A larger group fills the last bucket first.
local function add_group(code, b, group)
  local last = group[#group][1]
  -- The bucket's highest score: recorded, or nothing in an empty bucket; else unknown (nil).
  local top = tonumber(redis.call('HGET', P .. 'rt:' .. code, b.member) or '')
  -- A few entries (tasks finished one at a time) are pushed before the bucket's length is known,
  -- RPUSH answering it (no LLEN); those that did not fit are taken back off and go on below.
  local pushed = #group <= PUSH_FIRST
  local size
  if pushed then
    size = redis.call(unpack(push_args(b, group))) - #group
  else
    size = redis.call('LLEN', b.key)
  end
  if size == 0 then top = -math.huge end
  if size + #group <= room_for(code, b, group, size, top) then
    if not pushed then redis.call(unpack(push_args(b, group))) end
    if top and last > top then set_top(code, b, last) end
    return
  end
  if pushed then redis.call('LTRIM', b.key, 0, size - 1) end
  local all = nil
  if not top then
    -- No recorded highest score: the bucket is read (and its entries kept for a split).
    all, top = {}, -math.huge
    for k, entry in ipairs(redis.call('LRANGE', b.key, 0, -1)) do
      local num, id = ready_entry(b.base, entry)
      all[k] = { num, id }
      if num > top then top = num end
    end
    set_top(code, b, top)
  end
  if upper(code, b) == nil and group[1][1] > top then
    if size > 0 and #group <= BUCKET_MAX / 2 then
      -- `b` keeps more than half its room used. Integer scores (time queued as ms times 1000
      -- plus a sequence) leave no score between `top` and `top + 1`; older versions' fractional
      -- ones are bounded at the group's lowest.
      spread(code, nil, group, BUCKET_MAX, math.min(top + 1, group[1][1]))
      return
    end
    local take = BUCKET_MAX - size
    while take > 0 and group[take + 1][1] == group[take][1] do take = take - 1 end
    local args, rest = { 'RPUSH', b.key }, {}
    for k, e in ipairs(group) do
      if k <= take then args[#args + 1] = entry_in(b.base, e[1], e[2]) else rest[#rest + 1] = e end
    end
    if #args > 2 then
      redis.call(unpack(args))
      set_top(code, b, group[take][1])
    end
    spread(code, nil, rest, BUCKET_MAX)
    return
  end
  if not all then
    all = {}
    for k, entry in ipairs(redis.call('LRANGE', b.key, 0, -1)) do
      local num, id = ready_entry(b.base, entry)
      all[k] = { num, id }
    end
  end
  for _, e in ipairs(group) do all[#all + 1] = e end
  table.sort(all, before)
  redis.call('DEL', b.key)
  spread(code, b, all, math.ceil(#all / math.ceil(#all / (BUCKET_MAX / 2))))
end

-- Removes `group` from bucket `b`; an emptied bucket leaves the index.
local function remove_group(code, b, group)
  for _, e in ipairs(group) do redis.call('LREM', b.key, 1, entry_in(b.base, e[1], e[2])) end
  if redis.call('EXISTS', b.key) == 0 then
    redis.call('ZREM', P .. 'rx:' .. code, b.member)
    redis.call('HDEL', P .. 'rt:' .. code, b.member)
  end
end

-- Writes the gathered entries of every ready status, in score order, bucket by bucket (up to 400
-- entries at a time).
local function flush(from, adding)
  for _, code in ipairs(CODES) do
    local list = from[code]
    if list then
      sort_entries(list)
      local b, group = nil, {}
      local function write()
        if b and #group > 0 then
          if adding then add_group(code, b, group) else remove_group(code, b, group) end
        end
        group = {}
      end
      for _, e in ipairs(list) do
        if not b or not holds_score(code, b, e[1]) or #group >= 400 then
          write()
          b = locate(code, e[1], adding)
        end
        if b then group[#group + 1] = e end
      end
      write()
    end
  end
end

-- Writes the entries pending for status `code` (rp:<code>) into its buckets, with `list` (entries
-- { score, id } added in this run, or none).
local function index_with(code, list)
  local key = P .. 'rp:' .. code
  local entries = redis.call('LRANGE', key, 0, -1)
  if #entries > 0 then
    redis.call('DEL', key)
    for _, entry in ipairs(entries) do
      local num, id = ready_entry(0, entry)
      list[#list + 1] = { num, id }
    end
  end
  if #list > 0 then flush({ [code] = list }, true) end
end

ready_index = function(code) index_with(code, {}) end

-- Appends the entries added in this run to the pending list of their status, written into its
-- buckets once it holds INDEX_AT.
local function append_pending(code, list)
  local args = { 'RPUSH', P .. 'rp:' .. code }
  for _, e in ipairs(list) do args[#args + 1] = entry_in(0, e[1], e[2]) end
  if redis.call(unpack(args)) >= INDEX_AT then ready_index(code) end
end

ready_flush = function()
  -- Emptied only when used: a run that lists nothing allocates nothing here.
  if next(pending) then
    for _, code in ipairs(CODES) do
      local list = pending[code]
      if list then
        if #list <= FEW then append_pending(code, list) else index_with(code, list) end
      end
    end
    pending = {}
  end
  if next(dropping) then
    flush(dropping, false)
    dropping = {}
  end
end
