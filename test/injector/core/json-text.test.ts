// stringifyJson must write exactly what JSON.stringify writes, whichever subtrees are frozen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringifyJson } from '../../../injector/core/json-text.js';
import { deepFreeze } from '../../../injector/core/json.js';

/** A copy of `value` in which each object or array is frozen (deeply) when `pick` says so. */
function freezeSome(value: unknown, pick: () => boolean): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const copy: unknown = Array.isArray(value)
    ? value.map((item) => freezeSome(item, pick))
    : Object.fromEntries(Object.entries(value).map(([key, item]) => [key, freezeSome(item, pick)]));
  return pick() ? deepFreeze(copy) : copy;
}

test('stringifyJson equals JSON.stringify for JSON data with frozen subtrees anywhere, twice in a row', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 7 }), fc.infiniteStream(fc.boolean()), (value, coins) => {
      const data = freezeSome(value, () => coins.next().value as boolean);
      const expected = JSON.stringify(data);
      assert.equal(stringifyJson(data), expected);
      assert.equal(stringifyJson(data), expected, 'reused text differs');
    }),
    { numRuns: 500 },
  );
});

test('stringifyJson leaves out undefined object fields and writes null for undefined array items, as JSON.stringify does', () => {
  const data = { a: undefined, b: [1, undefined, { c: undefined, d: 'x' }], e: deepFreeze({ f: undefined, g: [undefined] }) };
  assert.equal(stringifyJson(data), JSON.stringify(data));
  assert.equal(stringifyJson(undefined), 'null');
});

test('a frozen subtree is serialised once and its text reused wherever it appears again', () => {
  let reads = 0;
  // A getter counts how often the subtree is actually serialised (JSON.stringify calls it each time).
  const shared = Object.freeze({
    get name(): string {
      reads += 1;
      return 'pillion-proxy';
    },
  });
  assert.equal(stringifyJson([{ value: [shared] }]), '[{"value":[{"name":"pillion-proxy"}]}]');
  assert.equal(stringifyJson({ other: shared, n: 1 }), '{"other":{"name":"pillion-proxy"},"n":1}');
  assert.equal(reads, 1);
});

test('stringifyJson writes strings, keys and numbers as JSON.stringify does: quotes, controls, lone and paired surrogates, -0, exponents', () => {
  const anyUnit = fc.string({ unit: fc.nat(0xffff).map((code) => String.fromCharCode(code)), maxLength: 12 });
  const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, 1e21, 5e-7, Number.MAX_SAFE_INTEGER, Number.NaN, Number.POSITIVE_INFINITY));
  fc.assert(
    fc.property(fc.dictionary(anyUnit, fc.oneof(anyUnit, number, fc.array(anyUnit, { maxLength: 3 }))), (data) => {
      assert.equal(stringifyJson(data), JSON.stringify(data));
    }),
    { numRuns: 1000 },
  );
  for (const text of ['a"b', 'back\\slash', '\u0000\u001f', '\u2028\u2029', '\ud83d\ude00', '\ud800', '\udfff x', 'é']) {
    assert.equal(stringifyJson({ [text]: [text] }), JSON.stringify({ [text]: [text] }), JSON.stringify(text));
  }
});
