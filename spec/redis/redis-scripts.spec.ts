/**
 * The store's script runs are sent as built (redis-scripts.ts writes the request itself): every
 * argument reaches the script as sent, whatever its bytes, and a script Redis no longer caches is
 * sent whole (EVAL) and runs.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { LuaScript } from '../../src/backends/redis/redis-scripts.js';
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
});
