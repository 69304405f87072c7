import { expect } from 'chai';
import { copyJson, copyPlainJson } from '../../src/producer/plain-json.js';
import { MAX_JSON_DEPTH, type Json } from '../../src/model/json.js';
import { jsonBytes } from '../../src/model/limits.js';

describe('copying plain JSON (producer/plain-json)', () => {
  it('copies every plain JSON value deeply, sharing nothing with the original', () => {
    const original = { a: null, b: true, c: -1.5, d: 'x', e: [1, 'two', [3], { f: false }], g: Object.create(null) as object };
    const copied = copyPlainJson(original);
    expect(copied?.copy).to.deep.equal({ ...original, g: {} });
    const copy = copied?.copy as typeof original;
    expect(copy).to.not.equal(original);
    expect(copy.e).to.not.equal(original.e);
    expect(copy.e[3]).to.not.equal(original.e[3]);
    (copy.e[2] as number[]).push(4);
    expect(original.e[2]).to.deep.equal([3]);
  });

  it('keeps an own "__proto__" key as a key', () => {
    const original = JSON.parse('{"__proto__": {"x": 1}, "y": 2}') as object;
    const copy = copyPlainJson(original)?.copy as object;
    expect(Object.getPrototypeOf(copy)).to.equal(Object.prototype);
    expect(Object.keys(copy)).to.deep.equal(['__proto__', 'y']);
    expect(JSON.stringify(copy)).to.equal(JSON.stringify(original));
  });

  it('bounds the size from above: never below the bytes of its JSON', () => {
    const values: Json[] = [{}, { a: 'é\u0001"\\' }, { k: [-1.234567890123e-300, -0, 1e21, true, null] }, { ['\u2028'.repeat(10)]: '😀'.repeat(50) }];
    for (const value of values) {
      expect(copyPlainJson(value)?.maxBytes).to.be.at.least(jsonBytes(value));
    }
  });

  it('refuses what is not plain JSON, and cycles, and what nests too deep', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    let deep: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH + 1; i++) deep = [deep];
    const holes = [1];
    holes[2] = 3;
    for (const value of [{ d: new Date() }, { u: undefined }, { n: NaN }, { f: () => 1 }, new Map(), holes, cycle, deep]) {
      expect(copyPlainJson(value), String(value)).to.equal(undefined);
    }
  });

  it('copyJson returns primitives as they are and copies objects', () => {
    expect(copyJson(3)).to.equal(3);
    expect(copyJson(null)).to.equal(null);
    const o = { a: [1] };
    const copy = copyJson(o);
    expect(copy).to.deep.equal(o);
    expect(copy).to.not.equal(o);
  });
});
