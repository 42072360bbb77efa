// Writing an injected document as edits to its own bytes.
//
// Injection adds a few pairs and list items to a pod template (annotations, the proxy, the init
// container, a volume) and leaves the rest alone. Printing the whole document again costs as much
// as reading it (yaml's printer on an 80 KB Deployment: ~40 ms cold), and most of that is text
// the user already wrote. So the parsed tree is walked next to the old and new values, and only
// what changed is printed: a new pair or item is inserted as lines after the one it follows, a
// changed pair or item is printed in place of its own lines, a removed one loses its lines.
// Everything else keeps its bytes, comments and formatting included.
//
// Only block maps and sequences are edited, and only where the text is laid out one entry per line
// from a known column (`key: value` or `- item`); anything else (a flow collection, an explicit
// `? key`, a key order the core changed, duplicate keys, a first entry inserted below a comment)
// returns undefined and the caller prints the whole document as before. Inserted lines are printed
// with the same kube schema, at their neighbours' column, in the author's indentation step and
// sequence style, so they read back as written (test/injector/cli/rewrite.test.ts and
// splice.test.ts read back every output).
import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isSeq } from 'yaml';
import type { Node, Pair, YAMLMap, YAMLSeq } from 'yaml';
import { isPlainObject } from '../core/json.js';
import { nameOf } from '../core/merge.js';
import { kubeParseOptions, pairKeyString } from './kube-yaml.js';

/** How printed lines are laid out: yaml's indentation step and whether sequences are indented under their key. */
export interface SpliceStyle {
  readonly step: number;
  readonly indentSeq: boolean;
  readonly lineBreak: '\n' | '\r\n';
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** Thrown inside the walk when the document's shape is not one the splice handles. */
class NotSpliceable extends Error {}

const printOptions = { lineWidth: 0, flowCollectionPadding: false, directives: false } as const;

// Printed text of frozen values (the rendered proxy and init containers are the same frozen objects
// for every pod of a template set), by layout: a file of many workloads prints each once.
const printedFrozen = new WeakMap<object, Map<string, string>>();

/** `value` as a YAML block at column 0 (a map's pairs, or `- ` items), ending with a line break. */
function printBlock(value: object, style: SpliceStyle): string {
  const doc = new Document(value, { ...kubeParseOptions, aliasDuplicateObjects: false });
  return doc.toString({ ...printOptions, indent: style.step, indentSeq: style.indentSeq });
}

/** `- item` at column 0; a frozen item's text is printed once per layout. */
function printItem(item: unknown, style: SpliceStyle): string {
  if (typeof item !== 'object' || item === null || !Object.isFrozen(item)) return printBlock([item], style);
  const layout = `${style.step}/${style.indentSeq}`;
  let byLayout = printedFrozen.get(item);
  if (byLayout === undefined) printedFrozen.set(item, (byLayout = new Map<string, string>()));
  let text = byLayout.get(layout);
  if (text === undefined) byLayout.set(layout, (text = printBlock([item], style)));
  return text;
}

/** A key that prints plainly and reads back as itself (container lists, annotation names...). */
const plainKey = /^[A-Za-z][A-Za-z0-9_./-]*$/;
const yaml11Words = /^(y|n|yes|no|on|off|true|false|null)$/i;

/** `key: value` (or `key:` then a block) at column 0; list items print one by one so frozen ones are reused. */
function printPair(key: string, value: unknown, style: SpliceStyle): string {
  if (Array.isArray(value) && value.length > 0 && value.every(isPlainObject) && plainKey.test(key) && !yaml11Words.test(key)) {
    const items = value.map((item) => printItem(item, style)).join('');
    return `${key}:\n${style.indentSeq ? indentLines(items, style.step, '\n') : items}`;
  }
  return printBlock({ [key]: value }, style);
}

/** Every non-empty line of `text` indented by `column` spaces (an empty line stays empty: it may be block scalar content). */
function indentLines(text: string, column: number, lineBreak: string): string {
  const pad = ' '.repeat(column);
  return text
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join(lineBreak);
}

/** Offset of the start of the line holding `offset`. */
function lineStart(source: string, offset: number): number {
  return source.lastIndexOf('\n', offset - 1) + 1;
}

/** Offset just after the line holding `offset - 1` (the line of the last character before `offset`). */
function afterLine(source: string, end: number): number {
  if (end > 0 && source[end - 1] === '\n') return end;
  const next = source.indexOf('\n', end);
  return next < 0 ? source.length : next + 1;
}

/** A node's range in the document's own text (`offset`: where that text starts in the file). */
function nodeRange(node: Node | null | undefined, offset: number): [number, number] {
  const range = node?.range;
  if (range === undefined || range === null) throw new NotSpliceable('a node without a source range');
  return [range[0] - offset, range[1] - offset];
}

/** Whether only spaces stand between the start of `offset`'s line and `offset`. */
function startsItsLine(source: string, offset: number): boolean {
  return /^ *$/.test(source.slice(lineStart(source, offset), offset));
}

/** Whether the line above `offset`'s line is a comment (it would then sit above whatever is inserted at that line). */
function commentAbove(source: string, offset: number): boolean {
  const start = lineStart(source, offset);
  if (start === 0) return false;
  const above = source.slice(lineStart(source, start - 1), start);
  return above.trimStart().startsWith('#');
}

/** An entry of a block collection: where its lines start, where its text starts, where its lines end, its column. */
interface Entry {
  /** Where the entry's lines start: its line's start when it starts the line, else its own start (a compact `- key:`). */
  readonly from: number;
  /** Whether the entry starts its line (only spaces before it). */
  readonly ownLine: boolean;
  /** Just after the entry's last line. */
  readonly end: number;
  readonly column: number;
}

function pairEntry(source: string, offset: number, pair: Pair): Entry {
  const [start, keyEnd] = nodeRange(pair.key as Node, offset);
  // Only `key: value` with the key on one line, before its `:`; not an explicit `? key`.
  if (!/^[ \t]*:/.test(source.slice(keyEnd, keyEnd + 80)) || source.slice(start, keyEnd).includes('\n')) throw new NotSpliceable('not a one-line implicit key');
  const valueEnd = nodeRange((pair.value ?? pair.key) as Node, offset)[1];
  const line = lineStart(source, start);
  const before = source.slice(line, start);
  const ownLine = /^ *$/.test(before);
  // Otherwise the first key of a compact `- key: value` sequence item.
  if (!ownLine && !/^ *- +$/.test(before)) throw new NotSpliceable('a key after something other than `- `');
  return { from: ownLine ? line : start, ownLine, end: afterLine(source, valueEnd), column: start - line };
}

function itemEntry(source: string, offset: number, item: Node): Entry {
  const [contentStart, contentEnd] = nodeRange(item, offset);
  // The `-` indicator: the item's content follows it on the same line.
  let dash = contentStart - 1;
  while (dash >= 0 && source[dash] === ' ') dash--;
  if (source[dash] !== '-' || !startsItsLine(source, dash)) throw new NotSpliceable('a sequence item not on its own `- ` line');
  const line = lineStart(source, dash);
  return { from: line, ownLine: true, end: afterLine(source, contentEnd), column: dash - line };
}

class Splicer {
  readonly edits: Edit[] = [];
  constructor(
    private readonly source: string,
    private readonly offset: number,
    private readonly style: SpliceStyle,
  ) {}

  private lines(text: string, column: number): string {
    return indentLines(text, column, this.style.lineBreak);
  }

  /** Replace an entry's lines with `printed` (column-0 lines); a compact entry's first line goes after its `- `. */
  private replace(entry: Entry, printed: string): void {
    const indented = this.lines(printed, entry.column);
    this.edits.push({ start: entry.from, end: entry.end, text: entry.ownLine ? indented : indented.slice(entry.column) });
  }

  /** Insert `printed` (column-0 lines) at `column` after the entry `after`, or above `first` when there is none. */
  private insert(printed: string, column: number, after: Entry | undefined, first: Entry): void {
    if (printed === '') return;
    if (after === undefined && (!first.ownLine || commentAbove(this.source, first.from))) {
      throw new NotSpliceable('an entry inserted above a compact first entry or below a comment');
    }
    const at = after === undefined ? first.from : after.end;
    this.edits.push({ start: at, end: at, text: this.lines(printed, column) });
  }

  /** Bring `node` (whose value is `before`) to `after`; false when the node must be printed anew. */
  sync(node: Node | null, before: unknown, after: unknown): boolean {
    if (before === after) return true;
    if (isPlainObject(before) && isPlainObject(after) && isMap(node) && node.flow !== true && Object.keys(after).length > 0) {
      this.syncMap(node, before, after);
      return true;
    }
    if (Array.isArray(before) && Array.isArray(after) && isSeq(node) && node.flow !== true && after.length > 0) {
      this.syncSeq(node, before, after);
      return true;
    }
    return isDeepStrictEqual(before, after);
  }

  private syncMap(node: YAMLMap, before: Record<string, unknown>, after: Record<string, unknown>): void {
    // Each key as kubectl reads it, with its pair's position.
    const pairs = new Map<string, number>();
    for (const [i, pair] of node.items.entries()) {
      const key = pairKeyString(pair);
      if (key === undefined || pairs.has(key)) throw new NotSpliceable('a key kubectl reads otherwise, or twice');
      pairs.set(key, i);
    }
    const entries = node.items.map((pair) => pairEntry(this.source, this.offset, pair));
    const column = entries[0]?.column;
    if (column === undefined || entries.some((e) => e.column !== column)) throw new NotSpliceable('map entries at different columns');
    // The kept keys must keep their order: a new key goes after the kept key before it.
    let lastKept = -1;
    let pending = '';
    const flush = (): void => {
      this.insert(pending, column, entries[lastKept], entries[0] as Entry);
      pending = '';
    };
    for (const [key, value] of Object.entries(after)) {
      // JSON leaves such a key out; yaml would print it: the whole-document printer decides.
      if (value === undefined) throw new NotSpliceable('a key without a value');
      const index = pairs.get(key);
      if (index === undefined) {
        pending += printPair(key, value, this.style);
        continue;
      }
      if (index < lastKept) throw new NotSpliceable('kept keys in another order');
      flush();
      lastKept = index;
      const pair = node.items[index] as Pair;
      if (!this.sync(pair.value as Node | null, before[key], value)) this.replace(entries[index] as Entry, printPair(key, value, this.style));
    }
    flush();
    // Keys the new value no longer has lose their lines (not the first key of a compact `- key:` entry).
    for (const [key, index] of pairs) {
      if (Object.hasOwn(after, key)) continue;
      const entry = entries[index] as Entry;
      if (!entry.ownLine) throw new NotSpliceable('removing the first key of a compact entry');
      this.edits.push({ start: entry.from, end: entry.end, text: '' });
    }
  }

  private syncSeq(node: YAMLSeq, before: unknown[], after: unknown[]): void {
    const items = node.items as (Node | null)[];
    if (items.some((item) => item === null)) throw new NotSpliceable('an empty sequence item');
    const entries = items.map((item) => itemEntry(this.source, this.offset, item as Node));
    const column = entries[0]?.column;
    if (column === undefined || entries.some((e) => e.column !== column)) throw new NotSpliceable('sequence items at different columns');
    // Items are matched by name when every new item has one (containers, volumes), else by position.
    const byName = after.every((v) => nameOf(v) !== undefined);
    const oldIndex = new Map<string, number>();
    if (byName) {
      for (const [i, v] of before.entries()) {
        const name = nameOf(v);
        if (name === undefined || oldIndex.has(name)) throw new NotSpliceable('unnamed or twice-named old items');
        oldIndex.set(name, i);
      }
    }
    const kept = new Set<number>();
    let lastKept = -1;
    let pending = '';
    const flush = (): void => {
      this.insert(pending, column, entries[lastKept], entries[0] as Entry);
      pending = '';
    };
    for (const [i, value] of after.entries()) {
      const index = byName ? oldIndex.get(nameOf(value) as string) : i < before.length ? i : undefined;
      if (index === undefined) {
        pending += printItem(value, this.style);
        continue;
      }
      if (index < lastKept) throw new NotSpliceable('kept items in another order');
      flush();
      lastKept = index;
      kept.add(index);
      if (!this.sync(items[index] as Node, before[index], value)) this.replace(entries[index] as Entry, printItem(value, this.style));
    }
    flush();
    for (const [i, entry] of entries.entries()) if (!kept.has(i)) this.edits.push({ start: entry.from, end: entry.end, text: '' });
  }
}

/**
 * `source` (a document's text, starting at `offset` of its file; its root a block map) with the
 * edits that make it hold `after` instead of `before`; undefined when the document's shape is not
 * one the splice handles.
 */
export function spliceDocument(source: string, offset: number, root: Node | null, before: unknown, after: unknown, style: SpliceStyle): string | undefined {
  if (!isMap(root) || root.flow === true) return undefined;
  const splicer = new Splicer(source, offset, style);
  try {
    if (!splicer.sync(root, before, after)) return undefined;
  } catch (error) {
    if (error instanceof NotSpliceable) return undefined;
    throw error;
  }
  const edits = splicer.edits.sort((a, b) => a.start - b.start || a.end - b.end);
  // A last line without a line break: what is written there starts a line of its own and, like
  // the file, ends without one (kubectl reads the file as if it had one either way).
  const open = source !== '' && !source.endsWith('\n');
  let out = '';
  let at = 0;
  for (const edit of edits) {
    if (edit.start < at) return undefined; // overlapping edits: not a shape this handles
    let text = edit.text;
    out += source.slice(at, edit.start);
    if (open && edit.end === source.length) {
      // The last lines removed: the line before them becomes the last, without its line break.
      if (text === '') out = out.replace(/\r?\n$/, '');
      else if (edit.start === source.length) text = style.lineBreak + text;
      if (text.endsWith(style.lineBreak)) text = text.slice(0, -style.lineBreak.length);
    }
    out += text;
    at = edit.end;
  }
  return out + source.slice(at);
}
