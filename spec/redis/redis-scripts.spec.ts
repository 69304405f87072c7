/**
 * The store's script runs are sent as built (redis-scripts.ts writes the request itself): every
 * argument reaches the script as sent, whatever its bytes, and a script Redis no longer caches is
 * sent whole (EVAL) and runs. The store's own scripts run as the functions of one library (FCALL)
 * where the server has functions, loaded on first use and again once the server lost them, and
 * with EVALSHA where it has none or the user may not load them; each run starts from a clean state.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { LuaScript, scriptLibrary, scripts } from '../../src/backends/redis/redis-scripts.js';
import { redisServerInstalled, TestRedisServer } from '../support/redis-server.js';

describe('redis:// script runs', function () {
  let server: TestRedisServer | null = null;
  let redis: Redis;
  // Echoes its keys and arguments, with the byte length of each argument.
  const echo = new LuaScript('echo', 'local out = {}\nfor k = 1, #KEYS do out[#out + 1] = KEYS[k] end\nfor k = 1, #ARGV do out[#out + 1] = ARGV[k]; out[#out + 1] = #ARGV[k] end\nreturn out');

  before(async function () {
    // A private server: the spec flushes its script cache.
    if (!redisServerInstalled()) {
      if (process.env.CI) throw new Error('redis-server is not installed: the redis specs need it in CI');
      this.skip();
    }
    server = await TestRedisServer.start();
    redis = new Redis(server.url(), { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    redis?.disconnect();
    await server?.destroy();
  });

  const args: (string | number)[] = ['plain', '', 'é', '日本', '😀 and "quotes"\r\n$3\r\n', 42, 0.5, -7, 'x'.repeat(70_000)];
  const expected = (): unknown[] => {
    const out: unknown[] = ['k1', 'k2'];
    for (const a of args) out.push(String(a), Buffer.byteLength(String(a)));
    return out;
  };

  it('hands every key and argument to the script as sent: empty, multi-byte, CRLF inside, numbers, long', async () => {
    expect(await echo.run(redis, ['k1', 'k2'], args)).to.deep.equal(expected());
    // A batch-sized run (thousands of arguments) as well.
    const many = Array.from({ length: 5000 }, (_, i) => `a${i}é`);
    const reply = (await echo.run(redis, [], many)) as unknown[];
    expect(reply).to.have.length(10_000);
    expect([reply[0], reply[1], reply[9998], reply[9999]]).to.deep.equal(['a0é', 4, 'a4999é', 7]);
    // ASCII only (headers by length in characters), around the lengths whose headers are kept.
    const ascii = Array.from({ length: 60 }, (_, i) => 'z'.repeat(i < 30 ? 1000 + i : i * 40));
    const echoed = (await echo.run(redis, [], ascii)) as unknown[];
    expect(echoed).to.deep.equal(ascii.flatMap((a) => [a, a.length]));
  });

  it('sends the whole script when Redis no longer has it cached, and runs it', async () => {
    await redis.script('FLUSH');
    expect(await redis.script('EXISTS', echo.sha)).to.deep.equal([0]);
    expect(await echo.run(redis, ['k1', 'k2'], args)).to.deep.equal(expected());
    expect(await redis.script('EXISTS', echo.sha)).to.deep.equal([1]);
  });

  it('fails a script error with Redis\'s message, not a hang', async () => {
    const bad = new LuaScript('bad', "return redis.call('NOSUCHCOMMAND')");
    let error: unknown = null;
    await bad.run(redis, [], []).catch((err: unknown) => (error = err));
    expect(String(error)).to.match(/Unknown Redis command|unknown command/i);
  });

  /** Calls per command on the private server since the last reset (`fcall`, `evalsha`, ...), refused ones included. */
  async function calls(): Promise<Map<string, number>> {
    const info = (await redis.info('commandstats')).split('\n');
    const out = new Map<string, number>();
    for (const line of info) {
      const m = /^cmdstat_([^:]+):calls=(\d+).*rejected_calls=(\d+)/.exec(line);
      if (m) out.set(m[1] as string, Number(m[2]) + Number(m[3]));
    }
    return out;
  }

  /** Runs the renew script (harmless: nothing is in flight) on `client`; answers its reply. */
  const renew = (client: Redis): Promise<unknown> => scripts.renew.run(client, ['s:{a}:inflight'], ['s:{a}:', 'w', 30_000]);

  it('runs the store\'s scripts as functions of one library, loaded on first use and again after the server lost it', async () => {
    await redis.call('FUNCTION', 'FLUSH');
    await redis.call('CONFIG', 'RESETSTAT');
    await renew(redis);
    await renew(redis);
    const libraries = (await redis.call('FUNCTION', 'LIST', 'LIBRARYNAME', scriptLibrary.name)) as unknown[][];
    expect(libraries).to.have.length(1);
    let stats = await calls();
    expect(stats.get('fcall')).to.equal(3);
    expect(stats.get('function|load')).to.equal(1);
    expect(stats.has('evalsha')).to.equal(false);
    // A restart without persistence, or FUNCTION FLUSH: loaded again, and the run goes on.
    await redis.call('FUNCTION', 'FLUSH');
    await renew(redis);
    stats = await calls();
    expect(stats.get('function|load')).to.equal(2);
    expect(stats.has('evalsha')).to.equal(false);
  });

  it('runs them with EVALSHA on a server without functions, without asking again', async () => {
    const old = new Redis(server?.url() as string, { maxRetriesPerRequest: 1 });
    try {
      // What a server before Redis 7 answers to FCALL.
      const send = old.sendCommand.bind(old);
      let fcalls = 0;
      old.sendCommand = ((command: { name: string; reject: (err: Error) => void; promise: Promise<unknown> }) => {
        if (command.name !== 'fcall') return send(command as never);
        fcalls += 1;
        command.reject(new Error("ERR unknown command 'fcall', with args beginning with: "));
        return command.promise;
      }) as typeof old.sendCommand;
      await redis.call('CONFIG', 'RESETSTAT');
      expect(await renew(old)).to.deep.equal(await renew(old));
      expect(fcalls).to.equal(1);
      expect((await calls()).get('evalsha')).to.equal(2);
    } finally {
      old.disconnect();
    }
  });

  it('runs them with EVALSHA where the user may not load functions, or not call them', async () => {
    await redis.call('FUNCTION', 'FLUSH');
    await redis.call('ACL', 'SETUSER', 'noload', 'on', '>secret', '~*', '&*', '+@all', '-function');
    await redis.call('ACL', 'SETUSER', 'nofcall', 'on', '>secret', '~*', '&*', '+@all', '-fcall');
    const noLoad = new Redis(server?.url() as string, { username: 'noload', password: 'secret', maxRetriesPerRequest: 1 });
    const noFcall = new Redis(server?.url() as string, { username: 'nofcall', password: 'secret', maxRetriesPerRequest: 1 });
    try {
      await redis.call('CONFIG', 'RESETSTAT');
      await renew(noLoad);
      await renew(noLoad);
      let stats = await calls();
      expect(stats.get('evalsha')).to.equal(2);
      // FCALL once (the library was missing), its load refused, then EVALSHA only.
      expect(stats.get('fcall')).to.equal(1);
      expect(stats.get('function|load')).to.equal(1);
      await redis.call('CONFIG', 'RESETSTAT');
      await renew(noFcall);
      await renew(noFcall);
      stats = await calls();
      expect(stats.get('evalsha')).to.equal(2);
      expect(stats.get('fcall')).to.equal(1);
    } finally {
      noLoad.disconnect();
      noFcall.disconnect();
    }
  });

  it('starts each run from a clean state: writes a failed run deferred are not sent by the next', async () => {
    const prefix = 'clean:{a}:';
    const queueArgs = (...tasks: string[][]) => [prefix, tasks.length, 60_000, '', '', '', '', ...tasks.flat()];
    const task = (id: string): string[] => [id, '', '2', 'name', '"addition"', 'kwargs', '{}'];
    // The second task's field count is not a number: the run fails after it deferred the first's
    // listings. An error inside the function: it fails as it is, not run again with EVALSHA.
    await redis.call('CONFIG', 'RESETSTAT');
    let error: unknown = null;
    await scripts.queue.run(redis, [`${prefix}queue`], queueArgs(task('t1'), ['t2', '', 'x'])).catch((err: unknown) => (error = err));
    expect(String(error)).to.match(/arithmetic|nil/);
    expect((await calls()).has('evalsha')).to.equal(false);
    await scripts.queue.run(redis, [`${prefix}queue`], queueArgs(task('t3')));
    const queued = (await redis.zrange(`${prefix}queue`, 0, -1)).map((member) => member.split(':')[1]);
    expect(queued).to.deep.equal(['t3']);
    expect(await redis.zrange(`${prefix}s:6`, 0, -1)).to.deep.equal(['t3']);
  });
});
