// A JSON manifest read by JSON.parse, not by the yaml library: `kubectl get -o json` output, a
// List of hundreds of objects, is read and printed again in a fraction of the time and memory.
//
// kubectl reads a file that starts with `{` with its JSON decoder (input.ts), which takes a stream
// of objects too (`{…}{…}`, one per line as `jq -c` writes them). JSON.parse reads the same value
// wherever the value passes isExactJson below; where it does not (a string with half a surrogate
// pair, which Go's decoder reads as U+FFFD; an integer past 2^53, whose digits JSON.parse loses;
// -0 or a number out of range), or the value nests deeper than any Kubernetes object, the yaml
// library reads its text as before (stream.ts), with its corrections and its errors.
// test/injector/cli/json-reader.test.ts shows the two readings agree.

/** Deeper than any Kubernetes object nests; a deeper value is left to the yaml library's reading, which says so. */
const maxDepth = 512;

function isExactNumber(value: number): boolean {
  // Past 2^53 a JS number may stand for several integers of the input; 2^53 itself included.
  return Number.isFinite(value) && !Object.is(value, -0) && Math.abs(value) < 2 ** 53;
}

/** An object JSON.stringify writes as its own keys: a Date, a Map or a class instance is not one. */
function isDataObject(value: object): value is Record<string, unknown> {
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function isExactAt(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed();
    case 'number':
      return isExactNumber(value);
    case 'boolean':
      return true;
    case 'object': {
      if (value === null) return true;
      if (depth >= maxDepth) return false;
      if (Array.isArray(value)) return value.every((item) => isExactAt(item, depth + 1));
      if (!isDataObject(value)) return false;
      for (const key in value) if (!key.isWellFormed() || !isExactAt(value[key], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/**
 * Whether `value` is data that JSON.stringify writes so that kubectl's JSON decoder reads back
 * this very value, as JSON.parse does: well-formed strings (keys too), numbers that are finite,
 * not -0 and exact (below 2^53 in size), no undefined or functions, nested at most 512 deep.
 */
export function isExactJson(value: unknown): boolean {
  return isExactAt(value, 0);
}

/** One value of a file kubectl reads as JSON: where it starts and what JSON.parse read. */
export interface JsonValue {
  readonly start: number;
  readonly value: unknown;
}

/**
 * What a file that starts with `{` holds for kubectl's JSON decoder, which reads a stream of
 * values (`{…}{…}`, `{…}\n{…}`, as `jq -c` writes them) and skips a `null` among them: its values,
 * or the first one that is neither a JSON object nor `null` (`index`, counted from 0), where
 * (`offset`) and why.
 */
export type JsonStream =
  | { readonly ok: true; readonly values: readonly JsonValue[] }
  /** `notObject`: the value is JSON but not an object, which every kubectl refuses. */
  | { readonly ok: false; readonly index: number; readonly offset: number; readonly reason: string; readonly notObject: boolean };

const isJsonSpace = (code: number): boolean => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

function skipJsonSpace(text: string, from: number): number {
  let at = from;
  while (at < text.length && isJsonSpace(text.charCodeAt(at))) at++;
  return at;
}

/** Where the object that starts at `start` ends (braces and brackets balanced, strings skipped); the text's end if it does not. */
function endOfJsonObject(text: string, start: number): number {
  let depth = 0;
  for (let at = start; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === 0x22) {
      // A string: to its closing quote, each backslash taking the character after it.
      for (at++; at < text.length && text.charCodeAt(at) !== 0x22; at++) if (text.charCodeAt(at) === 0x5c) at++;
    } else if (code === 0x7b || code === 0x5b) depth++;
    else if ((code === 0x7d || code === 0x5d) && --depth === 0) return at + 1;
  }
  return text.length;
}

/** JSON.parse's complaint without its place, and that place in the parsed text if it says one. */
function describeJsonError(error: unknown): { reason: string; at: number | undefined } {
  const message = error instanceof Error ? error.message : String(error);
  const position = /\bat position (\d+)/.exec(message)?.[1];
  return { reason: message.replace(/( in JSON)? at position \d+( \(line \d+ column \d+\))?/, ''), at: position === undefined ? undefined : Number(position) };
}

/** Why the value at `start` (the `index`th) is not read: it is not JSON, or JSON but not an object. */
function refuseStart(text: string, start: number, index: number): JsonStream {
  const c = text[start] ?? '';
  // Before the first value: a character kubectl skips as white space (Go's unicode.IsSpace) and JSON does not.
  if (index === 0) return { ok: false, index, offset: start, reason: `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} before the \`{\` is not white space in JSON`, notObject: false };
  const notObject = /^(?:\[|"|-?\d|true\b|false\b)/.test(text.slice(start, start + 6));
  return { ok: false, index, offset: start, reason: notObject ? 'it is a JSON value but not an object' : 'it does not start with `{`', notObject };
}

/** The values of `text`, a file that starts with `{` (a byte order mark and white space before it allowed). */
export function readJsonValues(text: string): JsonStream {
  const first = skipJsonSpace(text, text.startsWith('\uFEFF') ? 1 : 0);
  try {
    // Most files hold one value: parsed at once.
    return { ok: true, values: [{ start: first, value: JSON.parse(text.slice(first)) as unknown }] };
  } catch {
    // Several values, or text that is not JSON: one value at a time says which.
  }
  const values: JsonValue[] = [];
  for (let start = first; start < text.length; ) {
    const end = text.startsWith('null', start) ? start + 4 : text.charCodeAt(start) === 0x7b ? endOfJsonObject(text, start) : undefined;
    if (end === undefined) return refuseStart(text, start, values.length);
    try {
      values.push({ start, value: JSON.parse(text.slice(start, end)) as unknown });
    } catch (error) {
      const { reason, at } = describeJsonError(error);
      return { ok: false, index: values.length, offset: start + (at ?? 0), reason, notObject: false };
    }
    start = skipJsonSpace(text, end);
  }
  return { ok: true, values };
}
