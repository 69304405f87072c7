-- Broadcasts the tasks a small finish batch just saved (finish.lua, run with ARGV[2] = '1'), sent
-- right behind it on the same connection: task_started for those that carried their start, then
-- each task's hash on the `task_done:tasks` channel followed by its task_done, so that a waiter
-- needs no read (redis-events.ts). Running after the finish, it puts the waiters' broadcast ahead
-- of the finish's reply in what Redis writes next. A task is broadcast only when its finish was
-- saved by the delivery named (its _fin is that token): a fenced-off write announces nothing.
-- KEYS: 1 inflight (routing only)
-- ARGV: 1 prefix, then per task: id, token, '1' when its finish carried its start (else '')
-- Each task's hash is read once: its _fin found in it, and the same fields broadcast.
local saved, hashes, started = {}, {}, {}
for i = 2, #ARGV, 3 do
  local id, token = ARGV[i], ARGV[i + 1]
  local fields = redis.call('HGETALL', tkey(id))
  for j = 1, #fields, 2 do
    if fields[j] == '_fin' then
      if fields[j + 1] == token then
        saved[#saved + 1] = id
        hashes[#saved] = fields
        if ARGV[i + 2] == '1' then started[#started + 1] = id end
      end
      break
    end
  end
end
if #started > 0 then
  publish_first('task_started')
  for _, id in ipairs(started) do publish('task_started', id) end
end
for k, id in ipairs(saved) do
  redis.call('PUBLISH', P .. 'task_done:tasks', id .. ' ' .. cjson.encode(hashes[k]))
  publish('task_done', id)
end
return #saved
