-- One page of a task listing, newest queued first (TaskStore.list). Reads the per-status listings
-- (zsets scored by time queued: store ms times 1000 plus a sequence, so that order holds within a
-- ms (_lib.lua: tq_ms)), merged, from the cursor on, and examines at most `budget` entries: a page
-- may hold fewer tasks than `limit` (even none) with a cursor, but a call never walks the whole
-- store. A job name or from_task filter is checked on each entry examined: no listing is kept per
-- job name (older versions kept n:<name> zsets, which cost a zset entry per task).
-- KEYS: 1 all (routing only: every task is listed under its one status, s:<code>, and the
--        listing of every task merges those; older versions also kept an `all` index)
-- ARGV: 1 prefix, 2 limit, 3 budget, 4 cursor score ('' for the first page), 5 cursor id,
--       6 job name ('' for any), 7 job name (JSON), 8 from_task (JSON, '' for any),
--       9 statuses (comma-separated codes, '' for any)
-- Returns { next cursor score or '', next cursor id or '', id1, task1 fields (flat), id2, ... }.
local limit, budget, cscore, cid = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local name, nameJson, fromJson, statuses = ARGV[6], ARGV[7], ARGV[8], ARGV[9]

-- Each status's zset s:<code>; a ready status's buckets too (_ready.lua: older versions listed
-- its tasks in s:<code>). The listing writes only that: a ready status's pending entries moved
-- into its buckets.
local wanted, sources = nil, {}
local function source(code)
  sources[#sources + 1] = { set = P .. 's:' .. code }
  if READY[code] then
    -- Its entries still pending go into its buckets first (_ready.lua: rp:<code>).
    ready_index(code)
    sources[#sources + 1] = { ready = code }
  end
end
if statuses ~= '' then
  wanted = {}
  for s in string.gmatch(statuses, '[^,]+') do
    wanted[s] = true
    source(s)
  end
else
  for code = 1, 6 do source(tostring(code)) end
end
-- Rows are checked against the whole filter; one that only lists statuses reads just theirs.
local filtered = fromJson ~= '' or name ~= ''
local want = filtered and budget or limit

-- Up to n entries of one index after the cursor (score desc, then member desc, as ZREVRANGE).
local function after(set, n)
  if cscore == '' then return redis.call('ZREVRANGE', set, 0, n - 1, 'WITHSCORES') end
  local rank = redis.call('ZREVRANK', set, cid)
  if rank then return redis.call('ZREVRANGE', set, rank + 1, rank + n, 'WITHSCORES') end
  local ties = redis.call('ZCOUNT', set, cscore, cscore)
  local got = redis.call('ZREVRANGEBYSCORE', set, cscore, '-inf', 'WITHSCORES', 'LIMIT', 0, n + ties)
  local out = {}
  for k = 1, #got, 2 do
    if #out < 2 * n and (tonumber(got[k + 1]) ~= tonumber(cscore) or got[k] < cid) then
      out[#out + 1] = got[k]
      out[#out + 1] = got[k + 1]
    end
  end
  return out
end

-- Up to n entries of the buckets of ready status `code` (_ready.lua, whose helpers this uses)
-- after the cursor, in the same order, as { id, score, ... }: from the bucket holding the cursor's
-- score (the one with the highest bound not above it), then the buckets below it, 8 bounds read at
-- a time; each bucket read whole and sorted.
local function after_ready(code, n)
  local index, out = P .. 'rx:' .. code, {}
  local cnum = tonumber(cscore)
  local buckets = redis.call('ZREVRANGEBYSCORE', index, cnum and cscore or '+inf', '-inf', 'WITHSCORES', 'LIMIT', 0, 8)
  while #buckets > 0 do
    for k = 1, #buckets, 2 do
      local rows = {}
      local base = base_of(buckets[k])
      for _, entry in ipairs(redis.call('LRANGE', P .. 'r:' .. code .. ':' .. buckets[k], 0, -1)) do
        local score, id = ready_entry(base, entry)
        if not cnum or score < cnum or (score == cnum and id < cid) then rows[#rows + 1] = { score, id } end
      end
      table.sort(rows, function(x, y) return x[1] > y[1] or (x[1] == y[1] and x[2] > y[2]) end)
      for _, row in ipairs(rows) do
        if #out >= 2 * n then return out end
        out[#out + 1] = row[2]
        out[#out + 1] = decimal(row[1])
      end
    end
    buckets = redis.call('ZREVRANGEBYSCORE', index, '(' .. buckets[#buckets], '-inf', 'WITHSCORES', 'LIMIT', 0, 8)
  end
  return out
end

local lists, pos = {}, {}
for j, src in ipairs(sources) do
  lists[j] = src.ready and after_ready(src.ready, want) or after(src.set, want)
  pos[j] = 1
end
local out = { '', '' }
local rows, examined, last = 0, 0, nil
while rows < limit and examined < budget do
  local best = nil
  for j = 1, #lists do
    local k = pos[j]
    if lists[j][k] then
      if not best then
        best = j
      else
        local b = pos[best]
        local s, bs = tonumber(lists[j][k + 1]), tonumber(lists[best][b + 1])
        if s > bs or (s == bs and lists[j][k] > lists[best][b]) then best = j end
      end
    end
  end
  if not best then break end
  local k = pos[best]
  local id = lists[best][k]
  last = { lists[best][k + 1], id }
  pos[best] = k + 2
  examined = examined + 1
  local key = tkey(id)
  local keep = true
  if wanted or name ~= '' or fromJson ~= '' then
    local f = redis.call('HMGET', key, 'name', 'from_task', 'status')
    keep = f[3] ~= false and (nameJson == '' or f[1] == nameJson) and (fromJson == '' or f[2] == fromJson)
      and (wanted == nil or wanted[f[3]] == true)
  end
  if keep then
    local fields = redis.call('HGETALL', key)
    if #fields > 0 then
      out[#out + 1] = id
      out[#out + 1] = fields
      rows = rows + 1
    end
  end
end
-- More may follow unless every index was read to its end.
local more = false
for j = 1, #lists do
  if lists[j][pos[j]] or #lists[j] >= 2 * want then more = true end
end
if more and last then
  out[1] = last[1]
  out[2] = last[2]
end
return out
