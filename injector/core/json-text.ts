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

// A string JSON.stringify would write as is between quotes: no quote, backslash, control
// character or surrogate (a lone one is escaped, a pair is not: JSON.stringify decides those).
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON escapes
const needsEscape = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON text of a string; JSON.stringify costs ~150 ns a call even for a short plain one. */
function stringText(text: string): string {
  return needsEscape.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** JSON.stringify(value) for JSON data (no toJSON, no functions), reusing frozen subtrees' text. */
export function stringifyJson(value: unknown, depth: number = searchDepth): string {
  switch (typeof value) {
    case 'string':
      return stringText(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return JSON.stringify(value) ?? 'null';
  }
  if (value === null) return 'null';
  if (Object.isFrozen(value)) {
    let text = textOfFrozen.get(value);
    if (text === undefined) {
      text = JSON.stringify(value);
      textOfFrozen.set(value, text);
    }
    return text;
  }
  if (depth <= 0) return JSON.stringify(value);
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      // JSON.stringify writes null for an undefined array item.
      out += `${i > 0 ? ',' : ''}${item === undefined ? 'null' : stringifyJson(item, depth - 1)}`;
    }
    return `${out}]`;
  }
  out = '{';
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (item === undefined) continue; // JSON.stringify leaves such keys out
    out += `${out.length > 1 ? ',' : ''}${stringText(key)}:${stringifyJson(item, depth - 1)}`;
  }
  return `${out}}`;
}
