// RFC 6902 patch from the input pod to the injected pod, computed by one walk over both trees
// (linear in their size). Objects are diffed key by key. A list that only gained items (the
// injected containers, init containers, volumes) gets one `add` per new item, at its final index
// in increasing order (`/-` for the ones at the end), so the answer does not carry the pod's own
// items again; a list that only lost items (uninjection) gets `remove`s in decreasing index order.
// Any other change to a list replaces it whole. The API server applies the patch to the very object
// it sent, so indices are exact. Paths escape `~` and `/` per RFC 6901.
import type { Operation } from 'fast-json-patch';
import { isPlainObject } from './json.js';

export function escapePointer(key: string): string {
  if (!key.includes('~') && !key.includes('/')) return key;
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Structural equality of JSON values (key order ignored, list order significant). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
  }
  return false;
}

/** Operations turning `from` into `to`. Keys listed in `skip` (top-level paths) are never touched. */
export function createPatch(from: unknown, to: unknown, skip: ReadonlySet<string> = new Set()): Operation[] {
  const ops: Operation[] = [];
  diffInto(ops, from, to, '', skip);
  return ops;
}

function diffInto(ops: Operation[], from: unknown, to: unknown, path: string, skip: ReadonlySet<string>): void {
  if (from === to) return; // shared, hence unchanged, subtree
  if (isPlainObject(from) && isPlainObject(to)) {
    for (const key of Object.keys(from)) {
      if (Object.hasOwn(to, key)) continue;
      const child = `${path}/${escapePointer(key)}`;
      if (!skip.has(child)) ops.push({ op: 'remove', path: child });
    }
    for (const key of Object.keys(to)) {
      const value = to[key];
      const present = Object.hasOwn(from, key);
      if (present && from[key] === value) continue; // shared: no path to build
      const child = `${path}/${escapePointer(key)}`;
      if (skip.has(child)) continue;
      if (!present) ops.push({ op: 'add', path: child, value });
      else diffInto(ops, from[key], value, child, skip);
    }
    return;
  }
  if (Array.isArray(from) && Array.isArray(to) && diffListInto(ops, from, to, path)) return;
  if (!jsonEqual(from, to)) ops.push({ op: 'replace', path, value: to });
}

const sameItem = (a: unknown, b: unknown): boolean => a === b || jsonEqual(a, b);

/**
 * Operations for a list that only gained or only lost items (the shorter list is a subsequence of
 * the longer one, matched greedily in order); false when the change is anything else.
 */
function diffListInto(ops: Operation[], from: readonly unknown[], to: readonly unknown[], path: string): boolean {
  if (to.length > from.length) {
    // Walk `to`; an item not matching the next unmatched item of `from` is inserted where it
    // stands. Applied in order, every earlier index already holds its final item.
    const added: Operation[] = [];
    let j = 0;
    for (const [i, item] of to.entries()) {
      if (j < from.length && sameItem(from[j], item)) j += 1;
      else added.push({ op: 'add', path: j === from.length ? `${path}/-` : `${path}/${i}`, value: item });
    }
    if (j < from.length) return false;
    ops.push(...added);
    return true;
  }
  if (to.length < from.length) {
    const removed: number[] = [];
    let j = 0;
    for (const [i, item] of from.entries()) {
      if (j < to.length && sameItem(item, to[j])) j += 1;
      else removed.push(i);
    }
    if (j < to.length) return false;
    for (let k = removed.length - 1; k >= 0; k -= 1) ops.push({ op: 'remove', path: `${path}/${removed[k] as number}` });
    return true;
  }
  return false;
}
