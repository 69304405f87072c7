-- The listings of ready tasks (SUCCESS, FAILURE, REVOKED: statuses 1, 2, 3), loaded after _lib.lua
-- (redis-scripts.ts), whose forward-declared ready_add, ready_remove, ready_flush and ready_reset
-- it defines. A ready task stays listed until purged: with resultTtl, a store keeps many, so each
-- listing entry counts. In a sorted set of more than 128 entries (a skip list) an entry takes about
-- 120 bytes; in a small list (a listpack) about 36, and RPUSH costs no search (a small sorted set is
-- flat too, but each ZADD scans it: that cost a third more of Redis's time per task). So a ready
-- status lists its tasks in buckets of at most BUCKET_MAX entries:
--   r:<code>:<n>  a bucket: a list of `<score>:<id>` (score: time queued, the listing score _tq,
--                 as canonical text: see entry_of), in no order;
--   rx:<code>     the buckets of the status: member n, scored by the bucket's lower bound. Bucket
--                 n holds the scores from its bound up to the next bucket's (excluded), so the
--                 buckets walked by bound, each sorted, list the status in score order (list.lua);
--   rn            the counter naming new buckets.
-- Entries with equal scores stay in one bucket. An entry below every bound goes to the first bucket,
-- whose bound goes down to it; an emptied bucket leaves rx. Entries that do not fit in their bucket
-- are spread over new ones: appended to the last bucket (tasks mostly end in the order they were
-- queued), they fill it and start the next; else the bucket and they are cut in halves (room for
-- late entries). Older versions listed ready tasks in s:<code> zsets: list.lua and purge.lua still
-- read those. Adds and removals are gathered during a run and written by ready_flush
-- (flush_deferred): the entries of one bucket in one command.
local BUCKET_MAX = 128
-- pending[code] = { { score, score text, id, entry }, ... } to add; dropping likewise to remove.
local pending, dropping = {}, {}

ready_reset = function()
  pending, dropping = {}, {}
end

-- A listing score as text, the same for the same number whatever form it was read in.
local function canonical(score)
  return string.format(score == math.floor(score) and '%d' or '%.17g', score)
end

-- The bucket entry of task `id` with listing score `num`: `<score>:<id>`.
local function entry_of(num, id)
  return canonical(num) .. ':' .. id
end

-- An entry read back: { score, score text, id, entry }.
local function parse(entry)
  local at = string.find(entry, ':', 1, true)
  local text = string.sub(entry, 1, at - 1)
  return { tonumber(text), text, string.sub(entry, at + 1), entry }
end

local function push(into, code, tq, id)
  local list = into[code]
  if not list then
    list = {}
    into[code] = list
  end
  local num = tonumber(tq)
  list[#list + 1] = { num, canonical(num), id, entry_of(num, id) }
end

ready_add = function(code, tq, id) push(pending, code, tq, id) end
ready_remove = function(code, tq, id) push(dropping, code, tq, id) end

local function bucket_key(code, n) return P .. 'r:' .. code .. ':' .. n end

-- The bucket where score `e` ({ number, text }) goes: { n, lo, lo_text, hi } (hi: the next
-- bucket's bound, nil when last, false until read). `create` (an add): a status without buckets
-- gets one, and a score below every bound lowers the first bucket's to it; else (a removal) nil
-- for a score no bucket holds.
local function locate(code, e, create)
  local index = P .. 'rx:' .. code
  local found = redis.call('ZREVRANGEBYSCORE', index, e[2], '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #found > 0 then return { n = found[1], lo = tonumber(found[2]), lo_text = found[2], hi = false } end
  if not create then return nil end
  local first = redis.call('ZRANGE', index, 0, 0)
  local n = first[1]
  if not n then n = tostring(redis.call('INCR', P .. 'rn')) end
  redis.call('ZADD', index, e[2], n)
  -- A new bucket is the only one (no next bound); the first one's next bound is still to read.
  local b = { n = n, lo = e[1], lo_text = e[2], hi = nil }
  if first[1] then b.hi = false end
  return b
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

-- Writes sorted entries `all` from bucket `key` on (nil: a new bucket first), starting a new
-- bucket (its bound the score of its first entry) past `chunk` entries, between different scores.
local function spread(code, key, all, chunk)
  local function open(e)
    local n = tostring(redis.call('INCR', P .. 'rn'))
    redis.call('ZADD', P .. 'rx:' .. code, e[2], n)
    return bucket_key(code, n)
  end
  local args, count = { 'RPUSH', key or open(all[1]) }, 0
  for k, e in ipairs(all) do
    if count >= chunk and e[1] ~= all[k - 1][1] then
      if #args > 2 then redis.call(unpack(args)) end
      args, count = { 'RPUSH', open(e) }, 0
    end
    args[#args + 1] = e[4]
    count = count + 1
    if #args >= 1000 then
      redis.call(unpack(args))
      args = { 'RPUSH', args[2] }
    end
  end
  if #args > 2 then redis.call(unpack(args)) end
end

-- Adds `group` (entries in score order) to bucket `b`: pushed when they fit; else appended to
-- the last bucket, they fill it and go on in new ones; else the bucket's entries and theirs are
-- sorted and cut in halves (the first stays in `b`).
local function add_group(code, b, group)
  local key = bucket_key(code, b.n)
  local size = redis.call('LLEN', key)
  if size + #group <= BUCKET_MAX then
    local args = { 'RPUSH', key }
    for _, e in ipairs(group) do args[#args + 1] = e[4] end
    redis.call(unpack(args))
    return
  end
  local all, top = {}, nil
  for k, entry in ipairs(redis.call('LRANGE', key, 0, -1)) do
    all[k] = parse(entry)
    if not top or all[k][1] > top then top = all[k][1] end
  end
  if upper(code, b) == nil and (not top or group[1][1] > top) then
    local take = BUCKET_MAX - size
    while take > 0 and group[take + 1][1] == group[take][1] do take = take - 1 end
    local args, rest = { 'RPUSH', key }, {}
    for k, e in ipairs(group) do
      if k <= take then args[#args + 1] = e[4] else rest[#rest + 1] = e end
    end
    if #args > 2 then redis.call(unpack(args)) end
    spread(code, nil, rest, BUCKET_MAX)
    return
  end
  for _, e in ipairs(group) do all[#all + 1] = e end
  table.sort(all, function(x, y) return x[1] < y[1] or (x[1] == y[1] and x[3] < y[3]) end)
  redis.call('DEL', key)
  spread(code, key, all, math.ceil(#all / math.ceil(#all / (BUCKET_MAX / 2))))
end

-- Removes `group` from bucket `b`; an emptied bucket leaves the index.
local function remove_group(code, b, group)
  local key = bucket_key(code, b.n)
  for _, e in ipairs(group) do redis.call('LREM', key, 1, e[4]) end
  if redis.call('EXISTS', key) == 0 then redis.call('ZREM', P .. 'rx:' .. code, b.n) end
end

-- Writes the gathered entries of every ready status, in score order, bucket by bucket (up to 400
-- entries at a time).
local function flush(from, adding)
  for _, code in ipairs({ '1', '2', '3' }) do
    local list = from[code]
    if list then
      table.sort(list, function(x, y) return x[1] < y[1] or (x[1] == y[1] and x[3] < y[3]) end)
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
          b = locate(code, e, adding)
        end
        if b then group[#group + 1] = e end
      end
      write()
    end
  end
end

ready_flush = function()
  if next(pending) then flush(pending, true) end
  if next(dropping) then flush(dropping, false) end
  pending, dropping = {}, {}
end
