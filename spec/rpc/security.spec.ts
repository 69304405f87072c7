/**
 * RpcServer's guards: the bearer token, and the refusal to serve other machines without one.
 */
import { expect } from 'chai';
import { ImproperlyConfigured } from '../../src/model/errors.js';
import { RpcServer, RPC_TOKEN_ENV } from '../../src/rpc/server.js';
import { errorOf, post, resultOf, rpc, startRpc, type RpcHarness } from './support.js';

describe('RpcServer security', () => {
  describe('with a token', () => {
    let h: RpcHarness;
    before(async () => {
      h = await startRpc({ token: 's3cret' });
    });
    after(async () => h?.close());

    it('answers a request without a token with HTTP 401', async () => {
      const reply = await post(h.url, rpc('ping'));
      expect(reply.status).to.equal(401);
      expect(reply.headers.get('www-authenticate')).to.match(/^Bearer/);
      expect(errorOf(reply).code).to.equal(-32001);
    });

    it('answers a wrong token, or another scheme, with HTTP 401', async () => {
      expect((await post(h.url, rpc('ping'), { Authorization: 'Bearer s3cre' })).status).to.equal(401);
      expect((await post(h.url, rpc('ping'), { Authorization: 'Bearer s3cret-and-more' })).status).to.equal(401);
      expect((await post(h.url, rpc('ping'), { Authorization: 'Basic s3cret' })).status).to.equal(401);
    });

    it('serves a request with the right token', async () => {
      const reply = await post(h.url, rpc('ping'), { Authorization: 'Bearer s3cret' });
      expect(reply.status).to.equal(200);
      expect(resultOf(reply)).to.equal('pong');
    });

    it('queues nothing for an unauthorised caller', async () => {
      const before = (await h.backend.getTasks({ name: 'echo' })).length;
      expect((await post(h.url, rpc('queue_task', { jobname: 'echo', message: 'intruder' }))).status).to.equal(401);
      expect((await h.backend.getTasks({ name: 'echo' })).length).to.equal(before);
    });
  });

  describe('token from the environment', () => {
    const saved = process.env[RPC_TOKEN_ENV];
    afterEach(() => {
      if (saved === undefined) delete process.env[RPC_TOKEN_ENV];
      else process.env[RPC_TOKEN_ENV] = saved;
    });

    it(`reads ${RPC_TOKEN_ENV} when the options give no token`, () => {
      process.env[RPC_TOKEN_ENV] = 'from-env';
      expect(new RpcServer().requiresToken).to.equal(true);
      delete process.env[RPC_TOKEN_ENV];
      expect(new RpcServer().requiresToken).to.equal(false);
    });
  });

  describe('binding beyond loopback', () => {
    it('refuses to start on 0.0.0.0 without a token, with a clear ImproperlyConfigured error', async () => {
      let error: unknown;
      try {
        await startRpc({ bind: '0.0.0.0:0', token: '' });
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(ImproperlyConfigured);
      expect((error as Error).message).to.match(/refuses to bind 0\.0\.0\.0:0.*without a token.*--rpc-token.*--rpc-insecure/);
    });

    it('starts on 0.0.0.0 with a token, or when told it is insecure', async () => {
      for (const options of [{ token: 'tok' }, { insecure: true }]) {
        const h = await startRpc({ bind: '0.0.0.0:0', ...options });
        try {
          expect(h.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
          const headers: Record<string, string> = 'token' in options ? { Authorization: 'Bearer tok' } : {};
          expect(resultOf(await post(h.url, rpc('ping'), headers))).to.equal('pong');
        } finally {
          await h.close();
        }
      }
    });

    it('binds loopback names without a token', () => {
      for (const bind of ['127.0.0.1:0', 'localhost:0', '[::1]:0', ':0', '8060']) {
        expect(() => new RpcServer({ bind }).assertSafeBind(), bind).not.to.throw();
      }
      expect(() => new RpcServer({ bind: '192.168.1.5:80' }).assertSafeBind()).to.throw(ImproperlyConfigured);
      expect(() => new RpcServer({ bind: '[::]:80' }).assertSafeBind()).to.throw(ImproperlyConfigured);
    });

    it('rejects a malformed bind address naming it', () => {
      for (const bind of ['nohost', 'host:port', '127.0.0.1:70000', '::1:80', 'a b:1']) {
        expect(() => new RpcServer({ bind }), bind).to.throw(ImproperlyConfigured, /Invalid bind address/);
      }
    });
  });
});
