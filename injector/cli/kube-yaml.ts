// Reading manifests the way kubectl reads them.
//
// kubectl does not read YAML 1.2: it turns each document into JSON with sigs.k8s.io/yaml, which
// decodes with a go-yaml v2 fork (YAML 1.1 flavoured, with its own rules). Whatever Pillion
// believes a manifest says must be what the API server will receive, or a pod the server sees as
// `hostNetwork: true` is injected (its init container then rewrites the node's own iptables) and
// `defaultMode: 0400` is passed on as 400. Every rule below was checked against kubectl 1.32
// (`kubectl annotate --local -f FILE x=y -o json`, no cluster needed; see
// test/injector/cli/kube-yaml.test.ts, which repeats the comparison when kubectl is installed):
//
// - plain scalars: the 22 YAML 1.1 booleans (`yes`, `On`, `N`...; not `yEs`), nulls `~`, `null`,
//   `Null`, `NULL` and empty, and integers as Go's strconv.ParseInt(s, 0, 64) reads them once every
//   `_` is removed (`0400` octal, `0o17`, `0x1F`, `0b101`, `1_000`, `1__0`; `08` is then a float),
//   floats by go-yaml's pattern (`1e3`, `1.`, `.5`; `1e400` stays a string). Sexagesimal (`1:20`)
//   and timestamps stay strings. `.inf` and `.nan` cannot be turned into JSON: kubectl refuses them.
// - quoted and block scalars are strings; `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`,
//   `!!timestamp` and `!!binary` are honoured (`!!int "0400"` is 256, `!!float 0x10` is 16,
//   `!!int 1.5` an error); any other tag is ignored and the scalar's text is the value.
// - merge keys: an unquoted `<<` merges a mapping or a sequence of mappings (earlier ones win)
//   into the mapping at the point where it appears, so a later key overrides it and it overrides an
//   earlier one; duplicate keys are allowed and the last one wins.
// - mapping keys become JSON strings: `yes:` is "true", `0400:` is "256", `1.5:` is "1.5"; null
//   and collection keys are errors.
// - aliases: go-yaml's rule, not a count: past 100 alias-driven decodes and 1000 decodes in all,
//   a document may not take more than 99% (falling to 10% for very large ones) of its decoding
//   work from aliases. 100 aliases of a small mapping are fine; a billion laughs is refused early.
import { isAlias, isMap, isNode, isPair, isScalar, isSeq, Scalar, Schema } from 'yaml';
import { mapTag, seqTag, stringTag } from 'yaml/util';
import type { Alias, Document, Node, Pair, ScalarTag } from 'yaml';

export type ScalarKind = 'null' | 'bool' | 'int' | 'float' | 'str';

export interface Resolved {
  readonly kind: ScalarKind;
  readonly value: null | boolean | number | string;
  /** The exact integer, for ints (keys print it; numbers lose precision past 2^53). */
  readonly big?: bigint;
}

const booleans = new Map<string, boolean>([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((s): [string, boolean] => [s, true]),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map((s): [string, boolean] => [s, false]),
]);
const nulls = new Set(['', '~', 'null', 'Null', 'NULL']);
const specialFloats = new Map<string, number>([
  ...['.nan', '.NaN', '.NAN'].map((s): [string, number] => [s, Number.NaN]),
  ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((s): [string, number] => [s, Number.POSITIVE_INFINITY]),
  ...['-.inf', '-.Inf', '-.INF'].map((s): [string, number] => [s, Number.NEGATIVE_INFINITY]),
]);
// go-yaml v2's yamlStyleFloat, applied after removing underscores.
const yamlStyleFloat = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
// Go's strconv.ParseFloat on a string that starts with `.` (no underscores allowed there).
const dotFloat = /^\.[0-9]+([eE][-+]?[0-9]+)?$/;
const int64Max = (1n << 63n) - 1n;
const uint64Max = (1n << 64n) - 1n;

/**
 * strconv.ParseUint(s, base, 64) (unsigned) or strconv.ParseInt(s, base, 64); undefined on error.
 * Base 0 reads the prefix: 0b, 0o, 0x (either case), or a leading 0 for octal.
 */
function goParseInt(text: string, signed: boolean, explicitBase?: number): bigint | undefined {
  let s = text;
  let negative = false;
  if (signed && (s.startsWith('+') || s.startsWith('-'))) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '') return undefined;
  let base = explicitBase ?? 10;
  if (explicitBase === undefined && s.startsWith('0')) {
    // Go: 0b, 0o, 0x prefixes (either case) when followed by something; else a leading 0 is octal.
    const prefix = s.length >= 3 ? (s[1] ?? '').toLowerCase() : '';
    const prefixed = ({ b: 2, o: 8, x: 16 } as Record<string, number>)[prefix];
    base = prefixed ?? 8;
    s = s.slice(prefixed === undefined ? 1 : 2);
  }
  let n = 0n;
  for (const c of s) {
    const digit = Number.parseInt(c, 36);
    if (Number.isNaN(digit) || digit >= base) return undefined;
    n = n * BigInt(base) + BigInt(digit);
  }
  if (!signed) return n <= uint64Max ? n : undefined;
  if (negative) return n <= int64Max + 1n ? -n : undefined;
  return n <= int64Max ? n : undefined;
}

function resolvePlainUncached(text: string): Resolved {
  const first = text[0];
  // go-yaml only looks further at scalars whose first character hints at a non-string.
  if (first === undefined || 'yYnNtTfFoO~'.includes(first)) {
    if (nulls.has(text)) return { kind: 'null', value: null };
    const bool = booleans.get(text);
    return bool === undefined ? { kind: 'str', value: text } : { kind: 'bool', value: bool };
  }
  if (first === '.') {
    const special = specialFloats.get(text);
    if (special !== undefined) return { kind: 'float', value: special };
    const value = dotFloat.test(text) ? Number(text) : Number.NaN;
    return Number.isFinite(value) ? { kind: 'float', value } : { kind: 'str', value: text };
  }
  if (first === '+' || first === '-' || (first >= '0' && first <= '9')) {
    const special = specialFloats.get(text);
    if (special !== undefined) return { kind: 'float', value: special };
    const plain = text.replaceAll('_', '');
    const big = goParseInt(plain, true) ?? goParseInt(plain, false);
    if (big !== undefined) return { kind: 'int', value: Number(big), big };
    if (yamlStyleFloat.test(plain)) {
      const value = Number(plain);
      // Go's ParseFloat fails on overflow; go-yaml then keeps the text as a string.
      if (Number.isFinite(value)) return { kind: 'float', value };
    }
    // go-yaml's older binary forms, reached when the above failed: `0b` then a signed base-2
    // number (`0b-1`, `0b+1`), and `-0b` then a base-2 number.
    let binary: bigint | undefined;
    if (plain.startsWith('0b')) binary = goParseInt(plain.slice(2), true, 2) ?? goParseInt(plain.slice(2), false, 2);
    else if (plain.startsWith('-0b')) binary = goParseInt(`-${plain.slice(3)}`, true, 2);
    if (binary !== undefined) return { kind: 'int', value: Number(binary), big: binary };
  }
  return { kind: 'str', value: text };
}

// The schema's tests resolve the same text several times in a row: keep the last answer.
let lastText: string | undefined;
let lastResolved: Resolved = { kind: 'str', value: '' };

/** How kubectl reads an untagged plain scalar with this text. */
export function resolvePlain(text: string): Resolved {
  if (text !== lastText) {
    lastResolved = resolvePlainUncached(text);
    lastText = text;
  }
  return lastResolved;
}

const timestampPattern =
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?$/;

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

type ExplicitKind = ScalarKind | 'timestamp' | 'binary';

/** A scalar written with an explicit `!!kind` tag, as go-yaml decodes it; `error` when it refuses. */
export function resolveTagged(kind: ExplicitKind, text: string): Resolved | { error: string } {
  if (kind === 'str') return { kind: 'str', value: text };
  if (kind === 'binary') {
    // Go's base64.StdEncoding skips line breaks, nothing else.
    const compact = text.replace(/[\r\n]/g, '');
    if (!base64Pattern.test(compact)) return { error: '!!binary value contains invalid base64 data' };
    return { kind: 'str', value: Buffer.from(compact, 'base64').toString('utf8') };
  }
  if (kind === 'timestamp') {
    // A timestamp stays its text (go-yaml keeps timestamps as strings for untyped targets).
    if (timestampPattern.test(text)) return { kind: 'str', value: text };
    return { error: `cannot decode !!${resolvePlain(text).kind} \`${text}\` as a !!timestamp` };
  }
  const resolved = resolvePlain(text);
  if (resolved.kind === kind) return resolved;
  if (kind === 'float' && resolved.kind === 'int') return { kind: 'float', value: resolved.value };
  return { error: `cannot decode !!${resolved.kind} \`${text}\` as a !!${kind}` };
}

/** A RegExp stand-in: the yaml library only ever calls `test` on a tag's pattern. */
class Predicate extends RegExp {
  readonly #matches: (text: string) => boolean;
  constructor(matches: (text: string) => boolean) {
    super('(?:)');
    this.#matches = matches;
  }
  override test(text: string): boolean {
    return this.#matches(text);
  }
}

function sameScalar(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}

/** Print a non-string scalar: its own source text when that still reads as its value. */
function stringifyKept(node: Scalar, fresh: (value: unknown) => string): string {
  const source = node.source;
  if (typeof source === 'string' && sameScalar(resolvePlain(source).value, node.value)) return source;
  return fresh(node.value);
}

function freshNumber(value: unknown): string {
  const n = value as number;
  if (Number.isNaN(n)) return '.nan';
  if (!Number.isFinite(n)) return n > 0 ? '.inf' : '-.inf';
  return Object.is(n, -0) ? '-0.0' : String(n);
}

const tagPrefix = 'tag:yaml.org,2002:';

/** The `resolve` of an explicit `!!kind` tag: go-yaml's value, or its refusal as a YAML error. */
function explicitResolve(kind: ExplicitKind): ScalarTag['resolve'] {
  return (text, onError) => {
    const resolved = resolveTagged(kind, text);
    if ('error' in resolved) {
      onError(resolved.error);
      return text;
    }
    return resolved.value;
  };
}

function kubeTag(kind: 'null' | 'bool' | 'int' | 'float', identify: (value: unknown) => boolean, fresh: (value: unknown) => string): ScalarTag[] {
  const tag = `${tagPrefix}${kind}`;
  const stringify = (item: Scalar): string => stringifyKept(item, fresh);
  return [
    // Untagged plain scalars: chosen by `test`.
    { tag, default: true, identify, test: new Predicate((text) => resolvePlain(text).kind === kind), resolve: (text) => resolvePlain(text).value, stringify },
    // An explicit `!!kind`: the library picks the non-default tag of that name, whatever the text.
    { tag, default: false, resolve: explicitResolve(kind), stringify },
  ];
}

function explicitStringTag(kind: 'binary' | 'timestamp'): ScalarTag {
  return {
    tag: `${tagPrefix}${kind}`,
    default: false,
    resolve: explicitResolve(kind),
    // Only parsed nodes carry these tags; their source (base64 or timestamp text) is still valid.
    stringify: (item) => JSON.stringify(typeof item.source === 'string' ? item.source.replace(/[\r\n]/g, '') : String(item.value)),
  };
}

/**
 * The yaml library schema that reads and writes scalars as kubectl does. Writing: a string that
 * kubectl would read as something else (`"yes"`, `"0400"`, `"1_0"`) is quoted; a parsed number,
 * boolean or null keeps its own text (`0400`, `yes`, `~`) as long as that text still means it.
 */
export const kubeSchema = new Schema({
  resolveKnownTags: false,
  merge: false,
  customTags: () => [
    mapTag,
    seqTag,
    stringTag,
    ...kubeTag('null', (value) => value === null || value === undefined, () => 'null'),
    ...kubeTag('bool', (value) => typeof value === 'boolean', (value) => (value === true ? 'true' : 'false')),
    ...kubeTag('int', (value) => typeof value === 'number' && Number.isInteger(value), freshNumber),
    ...kubeTag('float', (value) => typeof value === 'number', freshNumber),
    explicitStringTag('binary'),
    explicitStringTag('timestamp'),
  ],
});

/** Options for parsing a manifest stream: kubectl's scalars, duplicate keys allowed (last wins). */
export const kubeParseOptions = { schema: kubeSchema, uniqueKeys: false } as const;

/** A document kubectl would refuse, or cannot be turned into JSON; `offset` points at the node. */
export class KubeYamlError extends Error {
  override name = 'KubeYamlError';
  constructor(
    message: string,
    readonly offset: number | undefined,
  ) {
    super(message);
  }
}

const mergeTag = `${tagPrefix}merge`;

/** An unquoted `<<` key (or `!!merge <<`): go-yaml merges its value. A quoted "<<" is a plain key. */
export function isMergeKey(key: unknown): boolean {
  if (!isScalar(key) || key.value !== '<<') return false;
  if (key.tag === mergeTag) return true;
  return key.tag === undefined && key.type === Scalar.PLAIN;
}

/** Go's strconv.FormatFloat(v, 'g', -1, 32), which sigs.k8s.io/yaml uses for float keys. */
function goFloat32Key(v: number): string {
  const f = Math.fround(v);
  if (Number.isNaN(f)) return '.nan';
  if (!Number.isFinite(f)) return f > 0 ? '.inf' : '-.inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  let digits = '';
  let exponent = 0;
  for (let precision = 1; precision <= 9; precision++) {
    const text = Math.abs(f).toExponential(precision - 1);
    if (Math.fround(Number(text)) === Math.abs(f) || precision === 9) {
      const [mantissa = '', exp = '0'] = text.split('e');
      digits = mantissa.replace('.', '');
      exponent = Number(exp);
      break;
    }
  }
  const sign = f < 0 ? '-' : '';
  if (exponent < -4 || exponent >= 6) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exponent);
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

/** A pair's key as kubectl sees it (`yes:` is "true", `0400:` is "256"); undefined for a key kubectl refuses or a collection key. */
export function pairKeyString(pair: Pair): string | undefined {
  const key = pair.key;
  if (!isScalar(key)) return undefined;
  const text = kubeKeyString(key.value, key);
  return typeof text === 'string' ? text : undefined;
}

/**
 * The JSON key kubectl makes of a scalar key whose decoded value is `value`. `node` (the scalar
 * itself, when there is one) tells an int from a float with an integral value.
 */
export function kubeKeyString(value: unknown, node?: Node | null): string | { error: string } {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    let resolved: Resolved | undefined;
    if (isScalar(node) && typeof node.source === 'string') {
      const tag = node.tag?.startsWith(tagPrefix) === true ? (node.tag.slice(tagPrefix.length) as ExplicitKind) : undefined;
      const r = tag === undefined ? resolvePlain(node.source) : resolveTagged(tag, node.source);
      if (!('error' in r)) resolved = r;
    }
    if (resolved?.kind === 'int' && resolved.big !== undefined) {
      if (resolved.big > int64Max) return { error: `unsupported map key of type: uint64, key: ${resolved.big}` };
      return resolved.big.toString();
    }
    if (resolved === undefined && Number.isInteger(value)) return String(value);
    return goFloat32Key(value);
  }
  if (value === null || value === undefined) return { error: 'a null mapping key cannot be a JSON key (kubectl: unsupported map key of type <nil>)' };
  return { error: 'a mapping or sequence cannot be a mapping key (kubectl: invalid map key)' };
}

// go-yaml v2's allowedAliasRatio: 99% of the decoding work may come from aliases in documents of
// up to 400,000 decoded nodes, falling linearly to 10% at 4,000,000.
function allowedAliasRatio(decodeCount: number): number {
  if (decodeCount <= 400_000) return 0.99;
  if (decodeCount >= 4_000_000) return 0.1;
  return 0.99 - (0.89 * (decodeCount - 400_000)) / 3_600_000;
}

function setKey(object: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty: a `__proto__` key is data, as in JSON.parse.
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

function offsetOf(node: Node | Pair | null | undefined): number | undefined {
  if (node === null || node === undefined) return undefined;
  if (isPair(node)) return offsetOf(node.key as Node | null) ?? offsetOf(node.value as Node | null);
  return node.range?.[0] ?? undefined;
}

/**
 * Calls `fn` on every node under `node` in document order (a map, then each key and value), by
 * plain recursion: yaml's `visit` builds a frozen path per node, which cost more than the rest of
 * a walk that every document read makes.
 */
export function forEachNode(node: unknown, fn: (node: Node) => void): void {
  if (isMap(node)) {
    fn(node);
    for (const pair of node.items) {
      forEachNode(pair.key, fn);
      forEachNode(pair.value, fn);
    }
  } else if (isSeq(node)) {
    fn(node);
    for (const item of node.items) forEachNode(item, fn);
  } else if (isNode(node)) fn(node);
}

/** Decodes one document's node tree into the JSON value kubectl would send, with go-yaml's rules. */
class Decoder {
  private decodeCount = 0;
  private aliasCount = 0;
  private aliasDepth = 0;
  private readonly expanding = new Set<Alias>();
  private readonly targets = new Map<Alias, Node>();

  constructor(doc: Document, mayHaveAnchors: boolean) {
    // An alias refers to the latest anchor of that name before it, in document order. Without an
    // `&` in its text a document has no anchor, and the walk that finds them is skipped.
    if (!mayHaveAnchors) return;
    const anchors = new Map<string, Node>();
    forEachNode(doc.contents, (node) => {
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        if (target !== undefined) this.targets.set(node, target);
      } else if (node.anchor !== undefined) {
        anchors.set(node.anchor, node);
      }
    });
  }

  private count(node: Node | null): void {
    this.decodeCount++;
    if (this.aliasDepth > 0) this.aliasCount++;
    if (this.aliasCount > 100 && this.decodeCount > 1000 && this.aliasCount / this.decodeCount > allowedAliasRatio(this.decodeCount)) {
      throw new KubeYamlError(
        `document contains excessive aliasing: ${this.aliasCount} of ${this.decodeCount} nodes decoded so far come from aliases ` +
          '(kubectl refuses it too: a "billion laughs" expansion)',
        offsetOf(node),
      );
    }
  }

  /** `asKey`: infinities are fine in keys (they become ".inf"), not in values. */
  decode(node: Node | null, asKey = false): unknown {
    this.count(node);
    if (node === null) return null;
    if (isAlias(node)) return this.alias(node, (target) => this.decode(target, asKey));
    if (isScalar(node)) {
      const value = node.value;
      if (typeof value === 'number' && !Number.isFinite(value) && !asKey) {
        throw new KubeYamlError(`${String(node.source ?? value)} cannot be represented in JSON (kubectl refuses it too)`, offsetOf(node));
      }
      return value ?? null;
    }
    if (isSeq(node)) return node.items.map((item) => this.decode(item as Node | null));
    if (isMap(node)) {
      const object: Record<string, unknown> = {};
      this.mapInto(node.items, object);
      return object;
    }
    throw new KubeYamlError('unexpected node in a document', offsetOf(node));
  }

  private alias<T>(node: Alias, then: (target: Node) => T): T {
    const target = this.targets.get(node);
    if (target === undefined) throw new KubeYamlError(`unknown anchor '${node.source}' referenced`, offsetOf(node));
    if (this.expanding.has(node)) throw new KubeYamlError(`anchor '${node.source}' value contains itself`, offsetOf(node));
    this.expanding.add(node);
    this.aliasDepth++;
    try {
      return then(target);
    } finally {
      this.aliasDepth--;
      this.expanding.delete(node);
    }
  }

  private mapInto(pairs: readonly Pair[], object: Record<string, unknown>): void {
    for (const pair of pairs) {
      const keyNode = pair.key as Node | null;
      const valueNode = pair.value as Node | null;
      if (isMergeKey(keyNode)) {
        this.merge(valueNode, object);
        continue;
      }
      const keyValue = this.decode(keyNode, true);
      const resolvedKey = isAlias(keyNode) ? this.targets.get(keyNode) : keyNode;
      const key = kubeKeyString(keyValue, resolvedKey);
      if (typeof key !== 'string') throw new KubeYamlError(key.error, offsetOf(keyNode) ?? offsetOf(pair));
      setKey(object, key, this.decode(valueNode));
    }
  }

  /** Merge a `<<` value into `object`: go-yaml sets its keys now, in list order from the last. */
  private merge(node: Node | null, object: Record<string, unknown>): void {
    const wantMap = (): KubeYamlError => new KubeYamlError('map merge requires map or sequence of maps as the value', offsetOf(node));
    const mergeOne = (item: Node | null): void => {
      this.count(item);
      if (isAlias(item)) {
        this.alias(item, (target) => {
          if (!isMap(target)) throw wantMap();
          this.count(target);
          this.mapInto(target.items, object);
        });
      } else if (isMap(item)) {
        this.mapInto(item.items, object);
      } else throw wantMap();
    };
    if (isSeq(node)) {
      const items = node.items as (Node | null)[];
      if (items.some((item) => !isMap(item) && !(isAlias(item) && isMap(this.targets.get(item))))) throw wantMap();
      for (let i = items.length - 1; i >= 0; i--) mergeOne(items[i] ?? null);
    } else mergeOne(node);
  }

  document(doc: Document): unknown {
    this.count(null);
    return this.decode(doc.contents);
  }
}

/**
 * The JSON value kubectl makes of `doc` (which must have been parsed with kubeParseOptions).
 * `text`, the document's source text, when given, tells whether it can hold anchors at all.
 */
export function toKubeValue(doc: Document, text?: string): unknown {
  return new Decoder(doc, text?.includes('&') ?? true).document(doc);
}

/** The JSON value kubectl makes of one node of `doc` (an alias resolved in `doc`). */
export function kubeNodeValue(doc: Document, node: Node | null): unknown {
  return new Decoder(doc, true).decode(node);
}
