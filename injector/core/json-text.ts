// JSON text of data that shares frozen subtrees with the template cache. An injected pod's patch
// carries the rendered proxy and init containers, which are the same frozen objects for every pod
// of a template set (inject.ts cachedFragment); their text is produced once and reused, so a
// review pays only for serialising what is its own. Output equals JSON.stringify's for JSON data.

const textOfFrozen = new WeakMap<object, string>();

/**
 * How many levels of unfrozen objects are walked looking for frozen ones before the rest is left
 * to the (faster) native JSON.stringify: enough to reach a container's fields inside a patch
 * (operations → operation → list value → container → field).
 */
const searchDepth = 4;

/** JSON.stringify(value) for JSON data (no toJSON, no functions), reusing frozen subtrees' text. */
export function stringifyJson(value: unknown, depth: number = searchDepth): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  if (Object.isFrozen(value)) {
    let text = textOfFrozen.get(value);
    if (text === undefined) {
      text = JSON.stringify(value);
      textOfFrozen.set(value, text);
    }
    return text;
  }
  if (depth <= 0) return JSON.stringify(value);
  if (Array.isArray(value)) {
    // JSON.stringify writes null for an undefined array item.
    return `[${value.map((item: unknown) => (item === undefined ? 'null' : stringifyJson(item, depth - 1))).join(',')}]`;
  }
  const parts: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue; // JSON.stringify leaves such keys out
    parts.push(`${JSON.stringify(key)}:${stringifyJson(item, depth - 1)}`);
  }
  return `{${parts.join(',')}}`;
}
