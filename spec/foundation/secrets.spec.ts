/**
 * Secrets out of sight: URL passwords redacted, tokens read from files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { CliError } from '../../src/cli/values.js';
import { readTokenFile } from '../../src/cli/token-file.js';
import { redactSecrets, redactUrl } from '../../src/infra/secrets.js';
import { getLogger, logSettings } from '../../src/infra/logger.js';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { TaskBackend } from '../../src/producer/backend.js';
import { backendInfo } from '../../src/app/queue-api.js';
import { JobRegistry } from '../../src/job/registry.js';
import '../../src/backends/index.js';
import { parseBackendUrl } from '../../src/store/schemes.js';

describe('secrets', () => {
  it('redacts the password of a URL, keeping the user name', () => {
    expect(redactUrl('redis://:s3cret@127.0.0.1:6379/0?namespace=a')).to.equal('redis://:***@127.0.0.1:6379/0?namespace=a');
    expect(redactUrl('rediss://alice:pa%40ss@redis.example:6380/2')).to.equal('rediss://alice:***@redis.example:6380/2');
    expect(redactUrl('redis://onlytoken@host:6379')).to.equal('redis://***@host:6379');
    expect(redactUrl('redis://127.0.0.1:6379/0')).to.equal('redis://127.0.0.1:6379/0');
    expect(redactUrl('local://')).to.equal('local://');
  });

  it('redacts every URL password inside a message', () => {
    expect(redactSecrets('cannot reach redis://:pw@h:1/0 (and redis://u:p@h2:2)')).to.equal('cannot reach redis://:***@h:1/0 (and redis://u:***@h2:2)');
    expect(redactSecrets('mail bob@example.com at http://example.com/a@b')).to.equal('mail bob@example.com at http://example.com/a@b');
  });

  it('keeps the password out of server info and URL errors', async () => {
    const registry = new JobRegistry();
    const backend = new TaskBackend(new MemoryStore('secrets-spec'), { name: 'tq', url: 'redis://:hunter2@127.0.0.1:6379/0', registry });
    try {
      const info = JSON.stringify(backendInfo(backend));
      expect(info).to.include('redis://:***@127.0.0.1:6379/0');
      expect(info).to.not.include('hunter2');
    } finally {
      await backend.close(1);
    }
    expect(() => parseBackendUrl('nope://:hunter2@h:1')).to.throw(/nope:\/\/:\*\*\*@h:1/);
    expect(() => parseBackendUrl('redis://:hunter2@h:1/0?poll_timeout=x')).to.throw(/redis:\/\/:\*\*\*@h/);
  });

  it('keeps the password out of log lines', () => {
    const lines: string[] = [];
    const saved = { ...logSettings };
    Object.assign(logSettings, { level: 'debug', json: false, write: (line: string) => lines.push(line) });
    try {
      getLogger('spec').warn('lost redis://:hunter2@10.0.0.1:6379/0');
    } finally {
      Object.assign(logSettings, saved);
    }
    expect(lines.join('\n')).to.include('redis://:***@10.0.0.1');
    expect(lines.join('\n')).to.not.include('hunter2');
  });

  describe('token files', () => {
    let dir: string;
    before(() => (dir = mkdtempSync(path.join(tmpdir(), 'pulsar-tasks-secrets-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('reads the first line, trimmed', () => {
      const file = path.join(dir, 'token');
      writeFileSync(file, '  abc123  \r\nignored\n');
      expect(readTokenFile(file)).to.equal('abc123');
    });

    it('refuses a missing or empty file, naming it', () => {
      expect(() => readTokenFile(path.join(dir, 'missing'))).to.throw(CliError, /cannot read the token file .*missing/);
      const empty = path.join(dir, 'empty');
      writeFileSync(empty, '\n');
      expect(() => readTokenFile(empty)).to.throw(CliError, /token file .*empty is empty/);
    });
  });
});
