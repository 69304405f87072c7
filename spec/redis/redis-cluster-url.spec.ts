/**
 * Cluster URLs: `redis+cluster://host:port[,host:port…]/?namespace=…` (and `rediss+cluster://`)
 * parsed into seed nodes, accepted as task backends, refused with a message naming the problem,
 * and shown without their password.
 */
import { expect } from 'chai';
import { parseRedisUrl } from '../../src/backends/redis/redis-link.js';
import { ImproperlyConfigured } from '../../src/model/errors.js';
import { redactUrl } from '../../src/infra/secrets.js';
import '../../src/backends/index.js';
import { createStore, foldSeedList, parseBackendUrl } from '../../src/store/schemes.js';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ImproperlyConfigured);
    return (err as Error).message;
  }
  throw new Error('no error was thrown');
}

describe('redis+cluster:// URLs', () => {
  it('reads every seed node, the password, namespace, poll timeout and shards', () => {
    const s = parseRedisUrl('redis+cluster://:s%40cret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002/?namespace=shop&poll_timeout=0.5&shards=6');
    expect(s.cluster).to.deep.equal([
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(s.options.password).to.equal('s@cret');
    expect(s.options).to.not.have.property('db');
    expect(s.namespace).to.equal('shop');
    expect(s.pollTimeout).to.equal(0.5);
    expect(s.shards).to.equal(6);
    expect(s.display).to.equal('redis+cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002');
  });

  it('reads how many replicas a write waits for, and how long', () => {
    const s = parseRedisUrl('redis+cluster://h1:7000/?wait_replicas=1&wait_timeout=500');
    expect([s.waitReplicas, s.waitTimeoutMs]).to.deep.equal([1, 500]);
    const plain = parseRedisUrl('redis://h:6379/0');
    expect([plain.waitReplicas, plain.waitTimeoutMs]).to.deep.equal([0, 1000]);
  });

  it('takes one seed node, and more in ?nodes=', () => {
    expect(parseRedisUrl('redis+cluster://h1:7000').cluster).to.deep.equal([{ host: 'h1', port: 7000 }]);
    expect(parseRedisUrl('redis+cluster://h1:7000/?nodes=h2:7001,h3:7002').cluster).to.have.length(3);
  });

  it('uses TLS for rediss+cluster://, and one Redis (no cluster, one shard) for redis://', () => {
    expect(parseRedisUrl('rediss+cluster://u:pw@h1:7000').options).to.deep.include({ tls: {}, username: 'u', password: 'pw' });
    const plain = parseRedisUrl('redis://h:6379/0');
    expect(plain.cluster).to.equal(null);
    expect(plain.shards).to.equal(1);
  });

  it('is a known task backend scheme, its seed list folded for URL', () => {
    const raw = 'redis+cluster://:pw@h1:7000,h2:7001/?namespace=x';
    expect(parseBackendUrl(raw).scheme).to.equal('redis+cluster');
    expect(parseBackendUrl('rediss+cluster://h1:7000').scheme).to.equal('rediss+cluster');
    expect(foldSeedList(raw)).to.equal('redis+cluster://:pw@h1:7000/?namespace=x&nodes=h2%3A7001');
    expect(foldSeedList('redis://h:1/0')).to.equal('redis://h:1/0');
  });

  const bad: [string, RegExp][] = [
    ['redis+cluster:///?namespace=a', /at least one host:port/],
    ['redis+cluster://h1/', /needs its port/],
    ['redis+cluster://h1:7000,h2/', /Invalid Redis Cluster node "h2"/],
    ['redis+cluster://h1:7000,h2:99999/', /Invalid Redis Cluster node "h2:99999"/],
    ['redis+cluster://h1:7000,,h2:7001/', /Invalid Redis Cluster node ""/],
    ['redis+cluster://h1:7000/3', /database 0 only/],
    ['redis+cluster://h1:7000/?shards=0', /shards must be an integer from 1 to 256/],
    ['redis+cluster://h1:7000/?shards=two', /shards must be an integer/],
    ['redis+cluster://h1:7000/?namespace=a{b}', /without braces/],
    ['redis+cluster://h1:7000/?wait_replicas=-1', /wait_replicas must be an integer ≥ 0/],
    ['redis://h1:7000/0?wait_timeout=0', /wait_timeout must be a positive integer of ms/],
  ];
  for (const [url, message] of bad) {
    it(`refuses ${url} naming the problem`, () => {
      expect(refusal(() => parseRedisUrl(url))).to.match(message);
    });
  }

  it('keeps the password out of errors and shown URLs', () => {
    const raw = 'redis+cluster://alice:hunter2@h1:7000,h2:x/';
    const message = refusal(() => createStore(raw, { name: 'app' }));
    expect(message).to.not.include('hunter2');
    expect(message).to.include('alice:***@');
    expect(redactUrl('redis+cluster://:hunter2@h1:7000,h2:7001/?namespace=a')).to.equal('redis+cluster://:***@h1:7000,h2:7001/?namespace=a');
  });
});
