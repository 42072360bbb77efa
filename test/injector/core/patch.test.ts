// createPatch on lists: items only added become adds at their final indices (`/-` at the end),
// items only removed become removes, anything else replaces the list; applying the patch (every
// operation validated) always gives the target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { createPatch } from '../../../injector/core/patch.js';

function applied(from: unknown, patch: readonly Operation[]): unknown {
  return fastJsonPatch.applyPatch(structuredClone(from), structuredClone(patch) as Operation[], true, false).newDocument;
}

const named = (name: string) => ({ name, image: `${name}:1` });

test('items appended to a present list are added with /-, one operation each', () => {
  const app = named('app');
  const from = { spec: { containers: [app] } };
  const to = { spec: { containers: [app, named('proxy'), named('other')] } };
  const patch = createPatch(from, to);
  assert.deepEqual(patch, [
    { op: 'add', path: '/spec/containers/-', value: named('proxy') },
    { op: 'add', path: '/spec/containers/-', value: named('other') },
  ]);
  assert.deepEqual(applied(from, patch), to);
});

test('a list absent from the input is added whole', () => {
  const from = { spec: { containers: [named('app')] } };
  const to = { spec: { containers: from.spec.containers, initContainers: [named('init')] } };
  assert.deepEqual(createPatch(from, to), [{ op: 'add', path: '/spec/initContainers', value: [named('init')] }]);
});

test('items put before and between the input items are added at their final indices, in order', () => {
  const [a, b] = [named('a'), named('b')];
  const from = { list: [a, b] };
  const to = { list: [named('first'), named('second'), a, named('middle'), b, named('last')] };
  const patch = createPatch(from, to);
  assert.deepEqual(patch.map((op) => [op.op, op.path]), [
    ['add', '/list/0'],
    ['add', '/list/1'],
    ['add', '/list/3'],
    ['add', '/list/-'],
  ]);
  assert.deepEqual(applied(from, patch), to);
});

test('equal items that are different objects still match (re-rendered input)', () => {
  const from = { list: [named('a')] };
  const to = { list: [named('x'), named('a')] };
  assert.deepEqual(createPatch(from, to), [{ op: 'add', path: '/list/0', value: named('x') }]);
});

test('items only removed become removes in decreasing index order', () => {
  const from = { list: [named('x'), named('a'), named('y'), named('b'), named('z')] };
  const to = { list: [named('a'), named('b')] };
  const patch = createPatch(from, to);
  assert.deepEqual(patch, [
    { op: 'remove', path: '/list/4' },
    { op: 'remove', path: '/list/2' },
    { op: 'remove', path: '/list/0' },
  ]);
  assert.deepEqual(applied(from, patch), to);
});

test('a list with a changed or reordered item is replaced whole', () => {
  const from = { list: [named('a'), named('b')] };
  for (const list of [[named('b'), named('a')], [named('a'), { name: 'b', image: 'b:2' }], [named('b'), named('a'), named('c')], [named('c')]]) {
    assert.deepEqual(createPatch(from, { list }), [{ op: 'replace', path: '/list', value: list }]);
  }
});

test('any list change gives a patch that turns the input into the target', () => {
  const item = fc.oneof(fc.constantFrom('a', 'b', 'c'), fc.record({ name: fc.constantFrom('a', 'b', 'c') }, { noNullPrototype: true }));
  fc.assert(
    fc.property(fc.array(item, { maxLength: 6 }), fc.array(item, { maxLength: 6 }), (fromList, toList) => {
      const from = { spec: { list: fromList } };
      const to = { spec: { list: toList } };
      assert.deepEqual(applied(from, createPatch(from, to)), to);
    }),
    { numRuns: 500 },
  );
});
