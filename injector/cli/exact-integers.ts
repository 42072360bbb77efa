// Integers past 2^53 written back as the manifest wrote them. kubectl sends every digit of an
// int64 (9007199254740993 stays 9007199254740993); the value Pillion decides on holds a JS number,
// which has lost the last digits. Where Pillion prints a value rather than the input's own nodes
// (a JSON manifest's injected body, `-o json`, a YAML document printed anew), each such number
// gets the digits of the input integer it came from back.
// Two input integers that JS reads as one number cannot be told apart there: that is an error,
// not a guess.
import { isScalar, type Document, type Node } from 'yaml';
import { forEachNode, resolvePlain } from './kube-yaml.js';

/** Where an integer was read, for the error that names it. */
export interface IntegerPlace {
  readonly file: string;
  readonly document: number;
  readonly line: number;
}

/** The input's integers beyond 2^53: the JS number each reads as → its digits → where it was first read. */
export type ExactIntegers = Map<number, Map<string, IntegerPlace>>;

/** An integer past 2^53 cannot be written back exactly: another one reads as the same JS number. */
export class InexactIntegerError extends Error {
  override name = 'InexactIntegerError';
  constructor(readonly digits: readonly string[], readonly place: IntegerPlace) {
    super(`the integers ${digits.join(' and ')} read as one and the same number past 2^53, so Pillion cannot write both back exactly`);
  }
}

// JSON.rawJSON (V8 since Node 21): a value JSON.stringify prints as the given text. Not in
// TypeScript's lib yet.
const rawJson = (text: string): unknown => (JSON as unknown as { rawJSON(this: void, text: string): unknown }).rawJSON(text);

// An integer past 2^53 takes 16 decimal digits, 14 hexadecimal ones, more in octal or binary
// (YAML 1.1 also allows `_` between digits): a text without such a run has none.
const longDigits = /[\da-fA-F_]{14}/;

/** Notes `doc`'s integers past 2^53 (`text`: the document's text, a quick test for any; `placeOf`: an offset's place). */
export function collectExactIntegers(doc: Document.Parsed, text: string, into: ExactIntegers, placeOf: (offset: number) => IntegerPlace): void {
  if (!longDigits.test(text)) return;
  forEachNode(doc.contents, (node) => {
    if (!isScalar(node) || typeof node.value !== 'number' || Number.isSafeInteger(node.value) || typeof node.source !== 'string') return;
    const resolved = resolvePlain(node.source);
    if (resolved.kind !== 'int' || resolved.big === undefined) return;
    const digits = resolved.big.toString();
    const byDigits = into.get(node.value) ?? new Map<string, IntegerPlace>();
    if (!byDigits.has(digits)) byDigits.set(digits, placeOf(node.range?.[0] ?? 0));
    into.set(node.value, byDigits);
  });
}

/** The digits of the input integer that `value` came from, if it is one past 2^53; two such integers throw. */
function exactDigits(value: number, integers: ExactIntegers): string | undefined {
  const byDigits = integers.get(value);
  if (byDigits === undefined) return undefined;
  const [first, ...others] = byDigits;
  if (first === undefined) return undefined;
  if (others.length > 0) throw new InexactIntegerError([...byDigits.keys()], first[1]);
  return first[0];
}

/**
 * JSON.stringify of `value`, each number past 2^53 with the digits of the input integer it came
 * from; with `negativeZero`, -0 as `-0.0` (JSON.stringify writes `0`; kubectl reads a float `-0.0`
 * as -0 and an integer `-0` as 0, so only a float reads back as -0).
 */
export function stringifyExact(value: unknown, integers: ExactIntegers, space?: number | string, negativeZero = false): string {
  if (integers.size === 0 && !negativeZero) return JSON.stringify(value, null, space);
  return JSON.stringify(
    value,
    (_key, item: unknown) => {
      if (typeof item !== 'number') return item;
      if (negativeZero && Object.is(item, -0)) return rawJson('-0.0');
      const digits = exactDigits(item, integers);
      return digits === undefined ? item : rawJson(digits);
    },
    space,
  );
}

/**
 * Gives each number past 2^53 in built nodes the digits of the input integer it came from as its
 * source text, which the schema prints where it reads as the node's value (kube-yaml.ts).
 */
export function restoreExactIntegers(node: Node | null, integers: ExactIntegers): void {
  if (integers.size === 0) return;
  forEachNode(node, (child) => {
    if (!isScalar(child) || typeof child.value !== 'number') return;
    const digits = exactDigits(child.value, integers);
    if (digits !== undefined) child.source = digits;
  });
}
