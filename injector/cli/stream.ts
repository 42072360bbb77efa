// Splitting a multi-document YAML stream into documents that remember their exact source bytes.
//
// `pillion inject` must give back every document it does not change byte for byte: comments,
// `---` markers, `%YAML` directives, `...` terminators and a missing final newline included. The
// yaml library's Document objects lose that text, so alongside them we keep a partition of the
// source: document i owns the bytes from the end of document i-1 (after its `...`, if any) to the
// end of its own body. Concatenating every region reproduces the source exactly, so an untouched
// document is emitted as its region and nothing can drift.
import { Composer, LineCounter, Parser } from 'yaml';
import type { CST, Document } from 'yaml';
import { readBlockStream } from './block-reader.js';
import { startsAsJson } from './input.js';
import { isExactJson, readJsonValues, type JsonValue } from './json-reader.js';
import { applyDifferences, noteDifferences, type Differences } from './kubectl-differences.js';
import { forEachNode, kubeParseOptions } from './kube-yaml.js';

export interface StreamDocument {
  /** 1-based position in its file, as reported to the user. */
  readonly index: number;
  /** The exact source text this document owns (leading comments and directives included). */
  readonly text: string;
  /** Offset of `text` in the file. */
  readonly offset: number;
  readonly doc: Document.Parsed;
  /**
   * The document as the yaml library's parser reads it, comments attached to its nodes: what
   * printing it again needs. `doc` itself unless the quick reader (block-reader.ts) made `doc`;
   * then the whole stream is parsed again, once.
   */
  readonly commented: () => Document.Parsed;
  /**
   * The value kubectl reads, when it is known without the yaml library: a JSON file's, read by
   * JSON.parse (json-reader.ts). `doc` is then read only if asked for, to place a problem.
   */
  readonly value?: unknown;
}

export interface ParsedStream {
  /** File name as the user gave it (`<stdin>` for `-f -`). */
  readonly file: string;
  readonly source: string;
  readonly documents: readonly StreamDocument[];
  /** Source text that belongs to no document (a comments-only or empty file). */
  readonly orphanText: string;
  readonly lineCounter: LineCounter;
  /** Errors found outside any document (only possible when there are no documents). */
  readonly streamErrors: readonly { readonly message: string; readonly offset: number }[];
}

/** Collects the offsets where each document's region starts while the composer consumes tokens. */
function* recordRegionStarts(tokens: Iterable<CST.Token>, starts: number[]): Generator<CST.Token> {
  // Offset of the first token after the previous document (and its `...`): the start of the
  // next document's region. The first document's region always starts at 0, so a file's
  // leading comments and directives belong to its first document, as the composer sees them.
  let pending: number | undefined = 0;
  let previousWasDocument = false;
  for (const token of tokens) {
    if (token.type === 'document') {
      starts.push(pending ?? token.offset);
      pending = undefined;
      previousWasDocument = true;
    } else if (token.type === 'doc-end' && previousWasDocument) {
      // `...` closes the document before it; it stays in that document's region.
    } else {
      pending ??= token.offset;
      previousWasDocument = false;
    }
    yield token;
  }
}

/**
 * Parse `source` into documents with their source regions. Scalars are read as kubectl reads
 * them (kube-yaml.ts), whatever `%YAML` directive a document carries: kubectl is who the output
 * is for. YAML errors are left on each doc un-prettified (`error.pos` is an offset): the CLI
 * prints its own file/document/line prefix.
 *
 * A document of plain block YAML is read by block-reader.ts, which gives the same nodes much
 * sooner; any other document by the yaml library, alone when its region of the stream reads
 * cleanly as one document, else the whole stream, so that errors are exactly the library's.
 * `parsedJson`: the values JSON.parse read from `source`, for a file kubectl reads as JSON (input.ts).
 */
export function parseStream(file: string, source: string, parsedJson?: readonly JsonValue[]): ParsedStream {
  // kubectl (go-yaml) reads a file without a final line break as if it had one; the yaml library
  // does not where it matters: a last line of only spaces inside a keep-chomped block (`|+`) is
  // one more line break for kubectl, none for the library. So the text is read with the line
  // break, and the documents' regions are cut back to the bytes the file has.
  const json = startsAsJson(source);
  const jsonStream = json ? readJsonStream(file, source, parsedJson) : undefined;
  if (jsonStream !== undefined) return jsonStream;
  const read = withFinalLineBreak(source);
  const quick = readBlockStream(read);
  if (quick === undefined) return parseWithYaml(file, source);
  let commented: ParsedStream | undefined;
  const documents: StreamDocument[] = [];
  for (const [i, item] of quick.documents.entries()) {
    const { offset } = item;
    const end = quick.documents[i + 1]?.offset ?? source.length;
    if (item.doc === undefined) {
      const doc = parseRegion(read, offset, item.end, json);
      if (doc === undefined) return parseWithYaml(file, source);
      // The yaml library's reading carries its comments already.
      documents.push({ index: i + 1, text: source.slice(offset, end), offset, doc, commented: () => doc });
      continue;
    }
    const again = (): Document.Parsed => {
      commented ??= parseWithYaml(file, source);
      const same = commented.documents[i];
      if (same === undefined || same.offset !== offset) throw new Error(`internal: the two readers of ${file} disagree on document ${i + 1}`);
      return same.doc;
    };
    documents.push({ index: i + 1, text: source.slice(offset, end), offset, doc: item.doc, commented: again });
  }
  const lineCounter = new LineCounter();
  for (const offset of quick.lineStarts) lineCounter.addNewLine(offset);
  return { file, source, documents, orphanText: '', lineCounter, streamErrors: [] };
}

/**
 * A file kubectl reads as JSON, read by JSON.parse (json-reader.ts): a document per value (one
 * object, or a stream of them), each the text from its value to the next one. Where JSON.parse
 * reads what kubectl reads, the document's value is known and the yaml library reads its text only
 * if a problem in it needs placing; elsewhere the library reads that text as before. Undefined
 * (the library reads the whole file) for a file of one such value, or one that is not JSON.
 */
function readJsonStream(file: string, source: string, parsedJson: readonly JsonValue[] | undefined): ParsedStream | undefined {
  let values = parsedJson;
  if (values === undefined) {
    const read = readJsonValues(source);
    if (!read.ok) return undefined;
    values = read.values;
  }
  const single = values.length === 1;
  // Each value walked once: on a `kubectl get -o json` List that is tens of milliseconds.
  const exact = values.map((item) => isExactJson(item.value));
  if (single && exact[0] !== true) return undefined;
  const documents = values.map((item, i): StreamDocument => {
    const offset = i === 0 ? 0 : item.start;
    const end = values[i + 1]?.start ?? source.length;
    const text = source.slice(offset, end);
    const read = (): Document.Parsed => {
      const doc = single ? parseWithYaml(file, source).documents[0]?.doc : readJsonRegion(source, offset, end);
      if (doc === undefined) throw new Error(`internal: the yaml library reads no document in the JSON file ${file}`);
      return doc;
    };
    if (exact[i] !== true) {
      const doc = read();
      return { index: i + 1, text, offset, doc, commented: () => doc };
    }
    let parsed: Document.Parsed | undefined;
    const doc = (): Document.Parsed => (parsed ??= read());
    return {
      index: i + 1,
      text,
      offset,
      value: item.value,
      get doc() {
        return doc();
      },
      commented: doc,
    };
  });
  const lineCounter = new LineCounter();
  lineCounter.addNewLine(0);
  for (let at = source.indexOf('\n'); at >= 0; at = source.indexOf('\n', at + 1)) lineCounter.addNewLine(at + 1);
  return { file, source, documents, orphanText: '', lineCounter, streamErrors: [] };
}

/** Moves every offset of `doc` (its range, its nodes', its errors' and warnings') on by `by`. */
function shiftDocument(doc: Document.Parsed, by: number): void {
  const move = (range: [number, number, number] | null | undefined): void => {
    if (range === null || range === undefined) return;
    range[0] += by;
    range[1] += by;
    range[2] += by;
  };
  move(doc.range);
  forEachNode(doc.contents, (node) => move(node.range));
  for (const problem of [...doc.errors, ...doc.warnings]) {
    problem.pos[0] += by;
    problem.pos[1] += by;
  }
}

/**
 * The document of one value of a JSON stream, the text [start, end) of `source`, read by the yaml
 * library as it reads a file kubectl reads as JSON, errors included, placed at `start`.
 */
function readJsonRegion(source: string, start: number, end: number): Document.Parsed | undefined {
  const { docs } = composeWithYaml(source.slice(start, end), true, () => undefined);
  const doc = docs[0];
  if (docs.length !== 1 || doc === undefined) return undefined;
  shiftDocument(doc, start);
  return doc;
}

/**
 * The one document in `read`'s region [start, end), read by the yaml library alone and placed at
 * `start` (every range moved there); undefined unless the region reads as exactly one document
 * without errors or warnings (the stream is then read as a whole, for the library's own errors).
 * A region that a `---` ends is read with one after it: where a document ends changes where the
 * library ends its last node (a marker ends it before trailing blank lines, the end of the text after).
 */
function parseRegion(read: string, start: number, end: number, json: boolean): Document.Parsed | undefined {
  const marked = end < read.length;
  const text = read.slice(start, end) + (marked ? '---\n' : '');
  // The library's lexer reports line starts as it goes; where it skips some (text it does not
  // take as tokens), the line numbers of the stream's reading are the whole stream's to give.
  let lines = 0;
  const { docs } = composeWithYaml(text, json, () => lines++);
  const doc = docs[0];
  if (docs.length !== (marked ? 2 : 1) || doc === undefined || doc.errors.length > 0 || doc.warnings.length > 0) return undefined;
  let breaks = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) breaks++;
  // One call for the start of the text, one after each line break.
  if (lines !== breaks + 1) return undefined;
  shiftDocument(doc, start);
  // The next document's region starts where this one's tokens end: at the `---` unless the
  // library left something between (blank lines after a root scalar), which only the whole
  // stream's reading places.
  if (marked && doc.range[2] !== end) return undefined;
  return doc;
}

function withFinalLineBreak(source: string): string {
  return source === '' || source.endsWith('\n') ? source : `${source}\n`;
}

/**
 * The yaml library's documents of `text`, read as kubectl reads them where the two differ
 * (kubectl-differences.ts: kubectl's refusals the library misses become errors); `json`: the
 * file is one kubectl reads as JSON (input.ts: decided once for the whole file, whatever part of
 * it `text` is); `onNewLine` hears every line start the lexer reports, `starts` (when given) gets
 * the offset where each document's region starts.
 */
function composeWithYaml(text: string, json: boolean, onNewLine: (offset: number) => void, starts?: number[]): { docs: Document.Parsed[]; composer: Composer } {
  const composer = new Composer({ ...kubeParseOptions, keepSourceTokens: false });
  const found: Differences[] = [];
  const tokens = noteDifferences(new Parser(onNewLine).parse(text), json, found);
  const docs = Array.from(composer.compose(starts === undefined ? tokens : recordRegionStarts(tokens, starts)));
  applyDifferences(docs, found);
  return { docs, composer };
}

/** parseStream by the yaml library alone (what the quick reader is compared with). */
export function parseWithYaml(file: string, source: string): ParsedStream {
  const read = withFinalLineBreak(source);
  const lineCounter = new LineCounter();
  const starts: number[] = [];
  const { docs, composer } = composeWithYaml(read, startsAsJson(source), lineCounter.addNewLine, starts);
  if (docs.length !== starts.length) {
    // Would mean the composer and the token stream disagree about document boundaries.
    throw new Error(`internal: ${docs.length} documents but ${starts.length} document tokens in ${file}`);
  }
  const documents = docs.map((doc, i): StreamDocument => {
    // Every region starts at a token of the file's own bytes: the added line break starts none.
    const offset = i === 0 ? 0 : (starts[i] ?? 0);
    const end = i + 1 < starts.length ? (starts[i + 1] ?? source.length) : source.length;
    return { index: i + 1, text: source.slice(offset, end), offset, doc, commented: () => doc };
  });
  const streamErrors =
    docs.length === 0
      ? composer.streamInfo().errors.map((e) => ({ message: e.message, offset: e.pos[0] }))
      : [];
  return {
    file,
    source,
    documents,
    orphanText: docs.length === 0 ? source : '',
    lineCounter,
    streamErrors,
  };
}

/** 1-based line of `offset` in the stream's file. */
export function lineAt(stream: ParsedStream, offset: number): number {
  return stream.lineCounter.linePos(offset).line;
}
