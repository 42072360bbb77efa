// Plain JSON data as the injector handles it (pods, templates, values, reviews): one test for "a
// JSON object", a list field read safely, one deep copy, one deep freeze.
import type { JsonObject } from './types.js';

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** owner[key] when it is a list, else an empty list. */
export function listOf(owner: JsonObject, key: string): unknown[] {
  const value = owner[key];
  return Array.isArray(value) ? value : [];
}

/** The objects of the list owner[key]; anything else in it is skipped. */
export function objectsOf(owner: JsonObject, key: string): JsonObject[] {
  return listOf(owner, key).filter(isPlainObject);
}

/** Deep copy of JSON data (templates and values are frozen; the output must be writable). */
export function cloneJson<T>(value: T): T {
  if (Array.isArray(value)) return value.map(cloneJson) as T;
  if (isPlainObject(value)) {
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value)) out[key] = cloneJson(item);
    return out as T;
  }
  return value;
}

/** Freeze a JSON tree in place, recursively, and return it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
