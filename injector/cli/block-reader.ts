// A quick reader for the plain block YAML that most manifests are written in.
//
// `pillion inject` reads its input with the yaml library, whose parser (lexer, CST, composer) is
// general and, in a process that runs once, cold: ~100 ms for an 80 KB Deployment, plus the
// garbage collection of its token objects, most of the whole run. Most manifests use a small part
// of YAML: block maps and sequences, one `key: value` or `- item` per line, plain or one-line
// quoted scalars, comments at the end of a line or above a document, blank lines, `---` between
// documents. This reader reads exactly that, line by line, into the yaml library's own node
// classes, with the values (kubectl's reading, kube-yaml.ts) and source ranges that the yaml
// library's parser gives the same text, so everything after reading (the kube value, the
// splice, error positions) cannot tell the two apart. test/injector/cli/block-reader.test.ts
// compares the two on every corpus manifest and fixture and on generated texts.
//
// Any other document (a flow collection, a block or multi-line scalar, an anchor, alias, tag or
// merge key, a comment line inside its body, a tab, an indented root, an explicit key) is left to
// the yaml library: its region of the text is returned instead (stream.ts reads it there). A
// stream with directives, `...` or characters that may break lines is declined as a whole. This
// reader never decides that a text is wrong.
import { Document, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { kubeParseOptions, kubeSchema, resolvePlain } from './kube-yaml.js';

/**
 * One document: where its region of the text starts, and the document as read; or, for a
 * document this reader does not read, where its region ends (the yaml library's to read).
 */
export type BlockDocument =
  | { readonly offset: number; readonly doc: Document.Parsed }
  | { readonly offset: number; readonly end: number; readonly doc: undefined };

export interface BlockStream {
  readonly documents: readonly BlockDocument[];
  /** Where each line starts, as yaml's LineCounter records them while parsing the same text. */
  readonly lineStarts: readonly number[];
}

/** Thrown inside the reader at the first thing it does not read; caught at its entry. */
class Decline extends Error {}

const decline = (): never => {
  throw new Decline();
};

// Characters whose handling differs in ways this reader does not follow, so that even where
// documents start is not certain: controls (CR included), C1 controls, the byte-order mark, the
// Unicode line and paragraph separators. A tab only leaves its own document to the yaml library.
// eslint-disable-next-line no-control-regex
const unsupportedCharacters = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;
// Lines that yaml reads as stream-level syntax: directives and document ends.
const streamSyntax = /^(?:%|\.\.\.)/m;

const SPACE = 0x20;
const HASH = 0x23;
const COLON = 0x3a;
const DASH = 0x2d;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;
const maxDepth = 200;
// `}` and `]` are two code points after `{` and `[`.
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;

// The first character of a plain scalar may not be one of YAML's indicators (`-` only when
// followed by a space, which is a sequence entry; `?` and `:` are declined outright).
const indicators = new Set([...'-?:,[]{}#&*!|>\'"%@`'].map((c) => c.charCodeAt(0)));
// JSON's escapes are a subset of YAML's double-quoted ones, decoded the same way; not `\/`, nor
// `\u` of half a surrogate pair, which kubectl refuses and JSON reads (kubectl-differences.ts: the
// yaml library reads such a document and reports it).
const jsonEscapes = /\\(?:["\\bfnrt]|u(?![Dd][89A-Fa-f])[0-9A-Fa-f]{4})/g;

class BlockReader {
  /** Offsets of the content lines of the current document: first non-space, and line end ('\n'). */
  private firsts: number[] = [];
  private ends: number[] = [];
  private starts: number[] = [];
  /** Index of the current content line. */
  private k = 0;
  /** Nesting of block collections being read (compact ones inside sequence entries not counted). */
  private depth = 0;

  constructor(private readonly src: string) {}

  private indent(k: number): number {
    return (this.firsts[k] as number) - (this.starts[k] as number);
  }

  /** Just after the line break ending content line k. */
  private after(k: number): number {
    return (this.ends[k] as number) + 1;
  }

  /** Whether the text at `at` is a mapping value indicator: `:` then a space or the line's end. */
  private isColon(at: number, end: number): boolean {
    return this.src.charCodeAt(at) === COLON && (at + 1 === end || this.src.charCodeAt(at + 1) === SPACE);
  }

  /** Offset of the `:` that ends a plain key starting at `at`, or -1 when a comment or the line's end comes first. */
  private plainKeyColon(at: number, lineEnd: number): number {
    for (let p = at; p < lineEnd; p++) {
      if (this.isColon(p, lineEnd)) return p;
      if (this.src.charCodeAt(p) === HASH && this.src.charCodeAt(p - 1) === SPACE) return -1;
    }
    return -1;
  }

  /** Whether the text at `at` is a sequence entry indicator: `-` then a space or the line's end. */
  private isDash(at: number, end: number): boolean {
    return this.src.charCodeAt(at) === DASH && (at + 1 === end || this.src.charCodeAt(at + 1) === SPACE);
  }

  /** Read one document's content lines (at least one, the first at column 0) into its root node. */
  readRoot(starts: number[], firsts: number[], ends: number[]): YAMLMap | YAMLSeq {
    this.starts = starts;
    this.firsts = firsts;
    this.ends = ends;
    this.k = 0;
    this.depth = 0;
    if (this.indent(0) !== 0) decline();
    const root = this.block();
    if (this.k !== starts.length) decline();
    return root;
  }

  /** The block collection that starts at the current line's first character. */
  private block(): YAMLMap | YAMLSeq {
    const first = this.firsts[this.k] as number;
    const column = this.indent(this.k);
    // Far deeper than any Kubernetes object, far below where the yaml library's own recursion
    // gives up (~1,400 levels, depending on the stack): such a text is the library's to refuse.
    if (++this.depth > maxDepth) decline();
    try {
      if (this.isDash(first, this.ends[this.k] as number)) return this.seq(column, false);
      return this.map(column, first);
    } finally {
      this.depth--;
    }
  }

  /** A block map whose keys sit at `column`; its first key starts at `at` on the current line. */
  private map(column: number, at: number): YAMLMap {
    const map = new YAMLMap(kubeSchema);
    const start = at;
    let end: number;
    for (;;) {
      const pair = this.pair(column, at);
      map.items.push(pair);
      end = (pair.value as Scalar | YAMLMap | YAMLSeq).range?.[2] ?? decline();
      if (this.k === this.firsts.length) break;
      const indent = this.indent(this.k);
      if (indent < column) break;
      // Deeper lines are a plain scalar's continuation or an error; a `- ` at the keys' column
      // after a pair whose value did not take it is an error.
      if (indent > column) decline();
      at = this.firsts[this.k] as number;
      if (this.isDash(at, this.ends[this.k] as number)) decline();
    }
    map.range = [start, end, end];
    return map;
  }

  /** A `key: value` pair whose key starts at `at` on the current line, its value however many lines it takes. */
  private pair(column: number, at: number): Pair {
    const k = this.k;
    const lineEnd = this.ends[k] as number;
    const key = this.key(at, lineEnd);
    const colon = key.range?.[1] as number;
    let v = colon + 1;
    while (this.src.charCodeAt(v) === SPACE) v++;
    const comment = v < lineEnd && this.src.charCodeAt(v) === HASH;
    if (v < lineEnd && !comment) {
      // A value on the key's line: a scalar, and the next line may not be deeper (a continuation).
      const value = this.scalar(v, lineEnd, this.after(k));
      this.k = k + 1;
      if (this.k < this.firsts.length && this.indent(this.k) > column) decline();
      return new Pair(key, value);
    }
    // An empty value: a block on the following lines (deeper, or a sequence at the key's column), or null.
    this.k = k + 1;
    if (this.k < this.firsts.length) {
      const indent = this.indent(this.k);
      if (indent > column) return new Pair(key, this.block());
      if (indent === column && this.isDash(this.firsts[this.k] as number, this.ends[this.k] as number)) return new Pair(key, this.seq(column, true));
    }
    // A null with a comment after it: the yaml library's range for it then takes in the blank
    // lines that follow, a rule not followed here.
    if (comment) decline();
    return new Pair(key, emptyScalar(v));
  }

  /** A key at `at` (plain or one-line quoted) followed by `:` and a space or the line's end; its range ends at the colon. */
  private key(at: number, lineEnd: number): Scalar {
    const src = this.src;
    const c = src.charCodeAt(at);
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) {
      const key = this.quoted(at, lineEnd);
      const colon = key.range?.[1] as number;
      if (!this.isColon(colon, lineEnd)) decline();
      if (colon - at > 1000) decline();
      key.range = [at, colon, colon];
      return key;
    }
    this.plainStart(at, lineEnd);
    const p = this.plainKeyColon(at, lineEnd);
    // No key; `key : value` (space before the colon) and yaml's limit on implicit keys (1024
    // characters, quoted keys too): declined.
    if (p < 0 || src.charCodeAt(p - 1) === SPACE || p - at > 1000) decline();
    const text = src.slice(at, p);
    if (text === '<<') decline();
    return plainScalar(text, at, p, p);
  }

  /** Whether the text at `at` reads as a `key:` (a compact map in a sequence entry) rather than a scalar. */
  private startsPair(at: number, lineEnd: number): boolean {
    const src = this.src;
    const c = src.charCodeAt(at);
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) {
      const close = this.quoteEnd(at, lineEnd);
      return src.charCodeAt(close + 1) === COLON;
    }
    return this.plainKeyColon(at, lineEnd) >= 0;
  }

  /** A block sequence whose `- ` indicators sit at `column`, from the current line. `flush`: the value of a map key at the same column. */
  private seq(column: number, flush: boolean): YAMLSeq {
    const seq = new YAMLSeq(kubeSchema);
    const start = this.firsts[this.k] as number;
    let end: number;
    for (;;) {
      const k = this.k;
      const dash = this.firsts[k] as number;
      const lineEnd = this.ends[k] as number;
      let v = dash + 1;
      while (this.src.charCodeAt(v) === SPACE) v++;
      let item: Scalar | YAMLMap | YAMLSeq;
      if (v === lineEnd || this.src.charCodeAt(v) === HASH) {
        // `-` alone: a deeper block on the following lines, or null (not with a comment, as above).
        this.k = k + 1;
        if (this.k < this.firsts.length && this.indent(this.k) > column) item = this.block();
        else if (v === lineEnd) item = emptyScalar(v);
        else return decline();
      } else if (this.isDash(v, lineEnd)) {
        return decline();
      } else if (this.startsPair(v, lineEnd)) {
        item = this.map(v - (this.starts[k] as number), v);
      } else {
        item = this.scalar(v, lineEnd, this.after(k));
        this.k = k + 1;
        if (this.k < this.firsts.length && this.indent(this.k) > column) decline();
      }
      seq.items.push(item);
      end = item.range?.[2] ?? decline();
      if (this.k === this.firsts.length) break;
      const indent = this.indent(this.k);
      if (indent < column) break;
      if (indent > column) decline();
      if (!this.isDash(this.firsts[this.k] as number, this.ends[this.k] as number)) {
        // The next key of the map that holds a flush sequence; anywhere else an error.
        if (flush) break;
        decline();
      }
    }
    seq.range = [start, end, end];
    return seq;
  }

  /** A value at `v` on a line ending at `lineEnd`: a scalar, or an empty `{}` or `[]`; `next`: just after the line. */
  private scalar(v: number, lineEnd: number, next: number): Scalar | YAMLMap | YAMLSeq {
    const c = this.src.charCodeAt(v);
    if ((c === OPEN_BRACE || c === OPEN_BRACKET) && this.src.charCodeAt(v + 1) === c + 2) {
      // `emptyDir: {}`, `args: []`: the only flow collections read here.
      this.commentOrEnd(v + 2, lineEnd);
      const empty = c === OPEN_BRACE ? new YAMLMap(kubeSchema) : new YAMLSeq(kubeSchema);
      empty.flow = true;
      empty.range = [v, v + 2, next];
      return empty;
    }
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) {
      const scalar = this.quoted(v, lineEnd);
      const close = scalar.range?.[1] as number;
      this.commentOrEnd(close, lineEnd);
      scalar.range = [v, close, next];
      return scalar;
    }
    this.plainStart(v, lineEnd);
    const src = this.src;
    let textEnd = lineEnd;
    for (let p = v; p < lineEnd; p++) {
      const ch = src.charCodeAt(p);
      if (ch === HASH && src.charCodeAt(p - 1) === SPACE) {
        textEnd = p;
        break;
      }
      // `: ` (or a colon at the end) inside a value would start a nested map: an error.
      if (this.isColon(p, lineEnd)) decline();
    }
    while (src.charCodeAt(textEnd - 1) === SPACE) textEnd--;
    return plainScalar(src.slice(v, textEnd), v, textEnd, next);
  }

  /** After a quoted scalar: only spaces, then the line's end or a comment. */
  private commentOrEnd(from: number, lineEnd: number): void {
    let p = from;
    while (this.src.charCodeAt(p) === SPACE) p++;
    if (p === lineEnd) return;
    if (p > from && this.src.charCodeAt(p) === HASH) return;
    decline();
  }

  /** A plain scalar may not start with an indicator (`-` then something other than a space is fine). */
  private plainStart(at: number, lineEnd: number): void {
    const c = this.src.charCodeAt(at);
    if (!indicators.has(c)) return;
    if (c === DASH && at + 1 < lineEnd && this.src.charCodeAt(at + 1) !== SPACE) return;
    decline();
  }

  /** Offset of the closing quote of the quoted scalar at `at`, on the same line. */
  private quoteEnd(at: number, lineEnd: number): number {
    const src = this.src;
    const quote = src.charCodeAt(at);
    for (let p = at + 1; p < lineEnd; p++) {
      const ch = src.charCodeAt(p);
      if (quote === DOUBLE_QUOTE && ch === BACKSLASH) p++;
      else if (ch === quote) {
        if (quote === SINGLE_QUOTE && src.charCodeAt(p + 1) === SINGLE_QUOTE) p++;
        else return p;
      }
    }
    return decline();
  }

  /** A one-line quoted scalar at `at`; its range (to be completed by the caller) ends after the closing quote. */
  private quoted(at: number, lineEnd: number): Scalar {
    const close = this.quoteEnd(at, lineEnd);
    const body = this.src.slice(at + 1, close);
    let value: string;
    let type: Scalar.Type;
    if (this.src.charCodeAt(at) === SINGLE_QUOTE) {
      value = body.includes("'") ? body.replaceAll("''", "'") : body;
      type = Scalar.QUOTE_SINGLE;
    } else {
      type = Scalar.QUOTE_DOUBLE;
      if (!body.includes('\\')) value = body;
      else {
        // Only the escapes YAML and JSON share, decoded by JSON's own reader.
        if (body.replace(jsonEscapes, '').includes('\\')) decline();
        value = JSON.parse(`"${body}"`) as string;
      }
    }
    const scalar = new Scalar(value);
    scalar.type = type;
    scalar.source = value;
    scalar.range = [at, close + 1, close + 1];
    return scalar;
  }
}

function plainScalar(text: string, start: number, end: number, next: number): Scalar {
  const scalar = new Scalar(resolvePlain(text).value);
  scalar.type = Scalar.PLAIN;
  scalar.source = text;
  scalar.range = [start, end, next];
  return scalar;
}

/** The null of a key or `-` with nothing after it, as the yaml library places it: where the spaces after the indicator end. */
function emptyScalar(at: number): Scalar {
  const scalar = new Scalar(null);
  scalar.type = Scalar.PLAIN;
  scalar.source = '';
  scalar.range = [at, at, at];
  return scalar;
}

/** Whether the last value in `node`, depth first, is the null of an empty `key:` or `-`. */
function endsEmpty(node: Scalar | YAMLMap | YAMLSeq): boolean {
  let last: unknown = node;
  for (;;) {
    if (last instanceof YAMLMap) last = (last.items.at(-1) as Pair | undefined)?.value;
    else if (last instanceof YAMLSeq) last = last.items.at(-1);
    else break;
  }
  return last instanceof Scalar && last.value === null && last.source === '';
}

/**
 * Read `text` (which ends with a line break, or is empty) as a stream of documents, each read
 * here when it is plain block YAML and otherwise left to the yaml library; undefined when the
 * stream itself is something else (directives, `...`, characters that may break lines).
 */
export function readBlockStream(text: string): BlockStream | undefined {
  if (text === '' || unsupportedCharacters.test(text) || streamSyntax.test(text)) return undefined;
  const reader = new BlockReader(text);
  const documents: BlockDocument[] = [];
  const lineStarts = [0];
  // The current document: its region's start, its `---` (or -1), its content lines, where its
  // blank lines end, and whether something in it is not read here.
  let regionStart = 0;
  let marker = -1;
  let starts: number[] = [];
  let firsts: number[] = [];
  let ends: number[] = [];
  let blankEnd = 0;
  let comments = false;
  let leave = false;
  const finish = (end: number): void => {
    const doc = leave || text.slice(regionStart, end).includes('\t') ? undefined : readDocument(reader, text, marker, starts, firsts, ends, blankEnd, comments);
    documents.push(doc === undefined ? { offset: regionStart, end, doc } : { offset: regionStart, doc });
  };
  for (let start = 0; start < text.length; ) {
    const end = text.indexOf('\n', start);
    const next = end + 1;
    lineStarts.push(next);
    let first = start;
    while (text.charCodeAt(first) === SPACE) first++;
    if (first === end) {
      blankEnd = next;
    } else if (text.charCodeAt(first) === HASH) {
      // A comment above a document's body is fine (it stays in the document's prefix); below
      // its first line the yaml library attaches it to nodes in ways not followed here.
      if (starts.length > 0) leave = true;
      comments = true;
    } else if (first === start && text.startsWith('---', start) && (start + 3 === end || text.charCodeAt(start + 3) === SPACE)) {
      if (starts.length > 0 || marker >= 0 || leave) finish(start);
      if (documents.length > 0) regionStart = start;
      marker = start;
      starts = [];
      firsts = [];
      ends = [];
      blankEnd = 0;
      comments = false;
      // Content on the marker's line (only spaces are read here; other Unicode white space is content).
      leave = false;
      for (let p = start + 3; p < end; p++) if (text.charCodeAt(p) !== SPACE) leave = true;
    } else {
      starts.push(start);
      firsts.push(first);
      ends.push(end);
      blankEnd = 0;
    }
    start = next;
  }
  finish(text.length);
  return { documents, lineStarts };
}

/** One document from its content lines, or undefined when it is not plain block YAML. */
function readDocument(reader: BlockReader, text: string, marker: number, starts: number[], firsts: number[], ends: number[], blankEnd: number, comments: boolean): Document.Parsed | undefined {
  const doc = new Document(undefined, kubeParseOptions) as Document.Parsed;
  if (starts.length === 0) {
    // A document of nothing but `---` and blank lines (a file that ends with `---`, or files
    // joined with `---` after each other's final `---`).
    if (marker < 0 || comments || !text.startsWith('---\n', marker)) return undefined;
    doc.contents = emptyScalar(marker + 3) as Document.Parsed['contents'];
    doc.range = [marker, marker + 3, marker + 3];
    doc.directives.docStart = true;
    return doc;
  }
  let root: YAMLMap | YAMLSeq;
  try {
    root = reader.readRoot(starts, firsts, ends);
  } catch (error) {
    if (error instanceof Decline) return undefined;
    throw error;
  }
  doc.contents = root as Document.Parsed['contents'];
  const bodyEnd = root.range?.[2] as number;
  // Blank lines after the body are the document's, unless its last value is an empty one.
  const trailing = endsEmpty(root) ? bodyEnd : Math.max(bodyEnd, blankEnd);
  doc.range = [marker >= 0 ? marker : (firsts[0] as number), bodyEnd, trailing];
  if (marker >= 0) doc.directives.docStart = true;
  return doc;
}
