-- Reads tasks in one round trip (TaskStore.get and TaskStore.list).
-- KEYS: 1 all (zset of every task id by time queued)
-- ARGV: 1 task key prefix, 2 mode ('ids': one entry per given id, empty when unknown; 'filter':
--       matching tasks only), 3 name (JSON, '' for any), 4 from_task (JSON, '' for any),
--       5 statuses (comma-separated codes, '' for any), then ids ('filter' mode: none means all)
local prefix, mode, name, fromTask, statuses = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ids = {}
for k = 6, #ARGV do ids[#ids + 1] = ARGV[k] end
if mode == 'filter' and #ids == 0 then ids = redis.call('ZRANGE', KEYS[1], 0, -1) end
local wanted = nil
if statuses ~= '' then
  wanted = {}
  for s in string.gmatch(statuses, '[^,]+') do wanted[s] = true end
end
local out = {}
for _, id in ipairs(ids) do
  local key = prefix .. id
  local keep = true
  if mode == 'filter' then
    local f = redis.call('HMGET', key, 'name', 'from_task', 'status')
    keep = f[3] ~= false and (name == '' or f[1] == name) and (fromTask == '' or f[2] == fromTask)
      and (wanted == nil or wanted[f[3]] == true)
  end
  if keep then
    local fields = redis.call('HGETALL', key)
    if mode == 'ids' or #fields > 0 then out[#out + 1] = fields end
  end
end
return out
