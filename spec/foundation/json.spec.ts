import { expect } from 'chai';
import { DateTime, Duration } from 'luxon';
import { InvalidTaskArguments } from '../../src/model/errors.js';
import { isJsonObject, jsonProblem, toJsonResult } from '../../src/model/json.js';
import { checkArguments, expiryTime, seconds } from '../../src/model/options.js';

describe('plain JSON', () => {
  describe('jsonProblem()', () => {
    it('accepts null, booleans, finite numbers, strings, arrays and plain objects', () => {
      const value = { a: null, b: true, c: -1.5, d: 'x', e: [1, 'two', [3], { f: false }], g: Object.create(null) as object };
      expect(jsonProblem(value)).to.equal(null);
      expect(jsonProblem([])).to.equal(null);
      expect(jsonProblem('text')).to.equal(null);
    });

    it('accepts the same object twice when it is not a cycle', () => {
      const shared = { x: 1 };
      expect(jsonProblem({ a: shared, b: [shared, shared] })).to.equal(null);
    });

    it('rejects a Date, with its path', () => {
      expect(jsonProblem({ when: new Date(0) })).to.equal('$.when is a Date instance, not a plain object');
    });

    it('rejects a Map, with its path', () => {
      expect(jsonProblem({ list: [1, new Map()] })).to.match(/^\$\.list\[1\] is a Map instance/);
    });

    it('rejects a luxon DateTime', () => {
      expect(jsonProblem({ at: DateTime.utc() })).to.match(/^\$\.at is a DateTime instance/);
    });

    it('rejects a function, with its path', () => {
      expect(jsonProblem({ a: { callback: () => 1 } })).to.match(/^\$\.a\.callback is a function/);
    });

    it('rejects undefined, with its path', () => {
      expect(jsonProblem({ a: undefined })).to.match(/^\$\.a is .*undefined/);
      expect(jsonProblem([1, undefined])).to.match(/^\$\[1\] is .*undefined/);
      expect(jsonProblem(undefined)).to.match(/^\$ is .*undefined/);
    });

    it('rejects NaN and infinities, with their path', () => {
      expect(jsonProblem({ n: NaN })).to.equal('$.n is NaN, not a finite number');
      expect(jsonProblem({ n: [Infinity] })).to.equal('$.n[0] is Infinity, not a finite number');
    });

    it('rejects a bigint and a symbol', () => {
      expect(jsonProblem({ big: 1n })).to.match(/^\$\.big is a bigint/);
      expect(jsonProblem({ s: Symbol('s') })).to.match(/^\$\.s is a symbol/);
    });

    it('rejects a circular reference, with its path', () => {
      const node: Record<string, unknown> = { name: 'root', children: [] };
      (node.children as unknown[]).push({ parent: node });
      expect(jsonProblem(node)).to.equal('$.children[0].parent is a circular reference');
    });

    it('starts the path where it is told', () => {
      expect(jsonProblem({ d: new Date() }, 'kwargs')).to.match(/^kwargs\.d /);
    });
  });

  it('tells plain JSON objects from arrays, null and objects with non-JSON values', () => {
    expect(isJsonObject({ a: [1] })).to.equal(true);
    expect(isJsonObject([])).to.equal(false);
    expect(isJsonObject(null)).to.equal(false);
    expect(isJsonObject({ a: new Date() })).to.equal(false);
  });

  describe('toJsonResult()', () => {
    it('keeps JSON values as they are', () => {
      const value = { a: [1, 'x'] };
      expect(toJsonResult(value)).to.equal(value);
    });

    it('stores undefined as null', () => {
      expect(toJsonResult(undefined)).to.equal(null);
    });

    it('passes anything else through JSON', () => {
      expect(toJsonResult({ when: new Date(0) })).to.deep.equal({ when: '1970-01-01T00:00:00.000Z' });
    });

    it('falls back to a string when JSON cannot hold the value', () => {
      expect(toJsonResult(10n)).to.equal('10');
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      expect(toJsonResult(cycle)).to.be.a('string');
    });
  });
});

describe('queue options', () => {
  describe('checkArguments()', () => {
    it('accepts plain JSON kwargs and metaParams, or none', () => {
      expect(() => checkArguments('addition', { a: 1, b: [2] }, { user: 'ann' })).to.not.throw();
      expect(() => checkArguments('addition', undefined, undefined)).to.not.throw();
    });

    for (const kwargs of [[1, 2], 'a=1', 42, null, true]) {
      it(`rejects kwargs that are not an object: ${JSON.stringify(kwargs)}`, () => {
        expect(() => checkArguments('addition', kwargs, undefined)).to.throw(
          InvalidTaskArguments,
          'kwargs of addition must be a plain JSON object',
        );
      });
    }

    it('rejects metaParams that are not an object', () => {
      expect(() => checkArguments('addition', {}, ['meta'])).to.throw(InvalidTaskArguments, /^metaParams of addition/);
    });

    it('rejects kwargs holding a value that is not plain JSON, naming its path', () => {
      expect(() => checkArguments('addition', { when: new Date() }, undefined)).to.throw(
        InvalidTaskArguments,
        'kwargs of addition are not plain JSON: kwargs.when is a Date instance',
      );
    });

    it('rejects metaParams holding a value that is not plain JSON, naming its path', () => {
      expect(() => checkArguments('addition', {}, { tags: [NaN] })).to.throw(InvalidTaskArguments, 'metaParams.tags[0] is NaN');
    });
  });

  describe('seconds()', () => {
    it('takes seconds as a number or a Duration', () => {
      expect(seconds(2.5, 'delay')).to.equal(2.5);
      expect(seconds(Duration.fromObject({ minutes: 2 }), 'delay')).to.equal(120);
    });

    it('rejects negative, infinite and non-numeric values, naming the option', () => {
      expect(() => seconds(-1, 'delay')).to.throw(InvalidTaskArguments, /^delay must be/);
      expect(() => seconds(Infinity, 'timeout')).to.throw(InvalidTaskArguments, /^timeout must be/);
      expect(() => seconds('5' as unknown as number, 'expiry')).to.throw(InvalidTaskArguments, /^expiry must be/);
    });
  });

  describe('expiryTime()', () => {
    const now = DateTime.fromISO('2026-01-01T10:00:00.000Z', { setZone: true });

    it('adds a lag to now', () => {
      expect(expiryTime(90, now).toISO()).to.equal('2026-01-01T10:01:30.000Z');
      expect(expiryTime(Duration.fromObject({ hours: 1 }), now).toISO()).to.equal('2026-01-01T11:00:00.000Z');
    });

    it('keeps an absolute time', () => {
      const at = now.plus({ days: 1 });
      expect(expiryTime(at, now)).to.equal(at);
    });
  });
});
