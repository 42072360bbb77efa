// A JSON manifest read by JSON.parse, not by the yaml library: `kubectl get -o json` output, a
// List of hundreds of objects, is read and printed again in a fraction of the time and memory.
//
// kubectl reads a file that starts with `{` with its JSON decoder (input.ts). JSON.parse reads
// the same value wherever the value passes isExactJson below; where it does not (a string with
// half a surrogate pair, which Go's decoder reads as U+FFFD; an integer past 2^53, whose digits
// JSON.parse loses; -0 or a number out of range), or the value nests deeper than any Kubernetes
// object, the file is read by the yaml library as before (stream.ts), with its corrections and
// its errors. test/injector/cli/json-reader.test.ts shows the two readings agree.

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

/**
 * The value kubectl reads from a file that starts with `{` (`text` is the whole file, a leading
 * byte order mark included; `parsed`, if given, what JSON.parse read from it), or undefined when
 * JSON.parse's reading may differ from kubectl's (isExactJson), or the text is not JSON: the yaml
 * library's reading then decides.
 */
export function readJsonValue(text: string, parsed?: unknown): unknown {
  let value = parsed;
  try {
    value ??= JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
  } catch {
    return undefined;
  }
  return isExactJson(value) ? value : undefined;
}
