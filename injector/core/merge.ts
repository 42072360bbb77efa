// Merging template fragments into a pod. Lists whose items all carry a `name` (containers, init
// containers, volumes, env, volumeMounts, ports) merge by name; everything else overlays field by
// field with the upper layer winning. The user's pod is always the upper layer, so a user who
// defines a container with the proxy's name customises it rather than getting a duplicate.
import { cloneJson, isPlainObject } from './json.js';
import type { JsonObject } from './types.js';

type Named = JsonObject & { name: string };

function isNamedList(list: readonly unknown[]): list is Named[] {
  return list.every((item) => isPlainObject(item) && typeof item.name === 'string');
}

/**
 * `top` over `base`, field by field. Key order: top's keys first, then base-only keys — so the
 * user's own fields keep their place. Returns new objects; inputs are not modified.
 */
export function overlay(base: unknown, top: unknown, order: 'top-first' | 'base-first' = 'top-first'): unknown {
  if (top === undefined) return cloneJson(base);
  if (isPlainObject(base) && isPlainObject(top)) {
    const out: JsonObject = {};
    const [first, second] = order === 'top-first' ? [top, base] : [base, top];
    for (const key of Object.keys(first)) out[key] = overlay(base[key], top[key], order);
    for (const key of Object.keys(second)) if (!Object.hasOwn(first, key)) out[key] = overlay(base[key], top[key], order);
    return out;
  }
  if (Array.isArray(base) && Array.isArray(top) && base.length > 0 && top.length > 0 && isNamedList(base) && isNamedList(top)) {
    return mergeNamedLists(base, top, order);
  }
  return cloneJson(top);
}

/**
 * Merge two named lists; a name in both becomes overlay(base item, top item). `top-first`: top's
 * order, then base-only items (the user's pod keeps its order); `base-first`: base's order, then
 * top-only items (templates listed later append after earlier ones).
 */
export function mergeNamedLists(base: readonly Named[], top: readonly Named[], order: 'top-first' | 'base-first' = 'top-first'): Named[] {
  const baseByName = new Map(base.map((item) => [item.name, item]));
  const topByName = new Map(top.map((item) => [item.name, item]));
  const [first, second] = order === 'top-first' ? [top, base] : [base, top];
  const firstNames = new Set(first.map((item) => item.name));
  const out: Named[] = [];
  for (const item of [...first, ...second.filter((i) => !firstNames.has(i.name))]) {
    out.push(overlay(baseByName.get(item.name), topByName.get(item.name), order) as Named);
  }
  return out;
}

/** A list item's `name`, when it is an object with a string one. */
export function nameOf(item: unknown): string | undefined {
  return isPlainObject(item) && typeof item.name === 'string' ? item.name : undefined;
}
