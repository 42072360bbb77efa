// RFC 6902 patch from the input pod to the injected pod, computed by one walk over both trees
// (linear in their size). Objects are diffed key by key; a changed list is replaced whole — the
// webhook's patch then cannot depend on list positions the API server might see differently, and
// stays short. Paths escape `~` and `/` per RFC 6901.
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
    for (const [key, value] of Object.entries(to)) {
      const present = Object.hasOwn(from, key);
      if (present && from[key] === value) continue; // shared: no path to build
      const child = `${path}/${escapePointer(key)}`;
      if (skip.has(child)) continue;
      if (!present) ops.push({ op: 'add', path: child, value });
      else diffInto(ops, from[key], value, child, skip);
    }
    return;
  }
  if (!jsonEqual(from, to)) ops.push({ op: 'replace', path, value: to });
}
