// The label-selector evaluator the webhook-safety tests rely on, checked against the semantics of
// Kubernetes' metav1.LabelSelector so a bug here cannot make those tests pass vacuously.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matchesSelector, SelectorError } from './support/label-selector.js';

describe('label selector evaluator', () => {
  test('absent and empty selectors match everything', () => {
    assert.equal(matchesSelector(undefined, {}), true);
    assert.equal(matchesSelector({}, { a: 'b' }), true);
  });

  test('matchLabels needs every pair', () => {
    assert.equal(matchesSelector({ matchLabels: { a: '1', b: '2' } }, { a: '1', b: '2', c: '3' }), true);
    assert.equal(matchesSelector({ matchLabels: { a: '1', b: '2' } }, { a: '1' }), false);
    assert.equal(matchesSelector({ matchLabels: { a: '1' } }, { a: '2' }), false);
  });

  test('In needs the key; NotIn and DoesNotExist match when the key is absent', () => {
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: ['x'] }] }, {}), false);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: ['x', 'y'] }] }, { a: 'y' }), true);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] }, {}), true);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] }, { a: 'x' }), false);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] }, { a: 'z' }), true);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, { a: '' }), true);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, {}), false);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, {}), true);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, { a: 'x' }), false);
  });

  test('requirements are ANDed with matchLabels', () => {
    const selector = { matchLabels: { team: 'shop' }, matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['db'] }] };
    assert.equal(matchesSelector(selector, { team: 'shop', tier: 'web' }), true);
    assert.equal(matchesSelector(selector, { team: 'shop', tier: 'db' }), false);
    assert.equal(matchesSelector(selector, { tier: 'web' }), false);
  });

  test('selectors the API server would reject are errors, not silent answers', () => {
    assert.throws(() => matchesSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, {}), SelectorError);
    assert.throws(() => matchesSelector({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, {}), SelectorError);
    assert.throws(() => matchesSelector({ matchExpressions: [{ key: 'a', operator: 'Equals' as 'In', values: ['x'] }] }, {}), SelectorError);
    // A YAML boolean (unquoted true) where a string belongs: Kubernetes rejects the object.
    assert.throws(() => matchesSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [true as unknown as string] }] }, {}), SelectorError);
  });
});
