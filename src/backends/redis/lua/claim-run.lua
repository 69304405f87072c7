-- Compare-and-set of the last run time of a periodic job (TaskStore.claimRun).
-- KEYS: 1 lastruns (hash name -> epoch ms)
-- ARGV: 1 job name, 2 expected previous ms ('' for none stored), 3 new run ms
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  if current then return 0 end
elseif not current or tonumber(current) ~= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
