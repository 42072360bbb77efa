// Where the yaml library's reading of a text and kubectl's differ, found in the parser's tokens.
//
// Pillion must not decide on a reading of a document kubectl would not apply, nor on one kubectl
// reads otherwise: the user's `kubectl apply` of the output fails, or, worse, Pillion's decision
// rests on a value kubectl never sends. kubectl reads YAML 1.1 with go-yaml v2 (through
// sigs.k8s.io/yaml), and a file that starts with `{` as JSON. What the library does not report
// itself, each rule with its reason at its check below (the list for users: docs/cli.md):
// - refused, as kubectl refuses them: a `? key` whose value follows without `:`; `\/` and escapes
//   of half a surrogate pair in YAML; in a flow collection, an unquoted string with `?` or a
//   leading `:`, and a tag with nothing after it;
// - refused, as kubectl reads them otherwise: a quoted string whose line ends in an escaped quote
//   and continues unindented; an escaped line break before an empty line;
// - read as kubectl reads them: `\'` in a double-quoted string is `'`; in a JSON file, `\/` is
//   `/`, a surrogate pair its character and a lone half U+FFFD.
//
// Checked against kubectl in test/injector/cli/kube-yaml.test.ts.
import { CST, YAMLParseError } from 'yaml';
import type { Document, ErrorCode, Node } from 'yaml';
import { forEachNode } from './kube-yaml.js';

/** Where kubectl refuses a document, and its words. */
export interface Refusal {
  readonly offset: number;
  readonly code: ErrorCode;
  readonly message: string;
}

/** A double-quoted scalar the library decodes otherwise than kubectl: kubectl's value, and the escapes the library refused. */
interface Correction {
  /** The scalar's start (its node's range[0]). */
  readonly offset: number;
  readonly value: string;
  /** Offsets of the backslashes of its `\'` escapes, where the library reported them (none for a JSON lone half). */
  readonly escapes: readonly number[];
}

/** What one document's tokens showed. */
export interface Differences {
  readonly refusals: Refusal[];
  readonly corrections: Correction[];
}

const valueWithoutColon = 'a `? key` entry has a value on the next lines without `:` before it; kubectl refuses this document (did not find expected key)';
const slashEscape = '`\\/` in a double-quoted string is not an escape for kubectl, which reads YAML 1.1 (found unknown escape character); write `/`';
const flowPlainIndicator =
  'an unquoted string in a flow collection (`[...]` or `{...}`) holds `?` or starts with `:`, which YAML 1.1 reads there as indicators: kubectl refuses it or reads a mapping; quote the string';
const emptyFlowTag =
  'a tag with nothing after it in a flow collection (`[!a, b]`): YAML 1.1 reads the `,`, `]` or `}` into the tag and tags what comes next, so kubectl reads another value or refuses it; give the tagged item a value, or drop the tag';
const unclosedQuote =
  'a quoted string not closed on its line (it ends in an escaped quote) continues on a line indented no more than its key: kubectl reads on to the closing quote, the yaml library ends the string at the line\'s end; indent the lines that continue it';
const escapedBreakBeforeEmptyLine =
  'an escaped line break (`\\` at the end of a line) followed by an empty line in a double-quoted string: kubectl keeps the empty line\'s line break, the yaml library drops it; write `\\n` where the break belongs';
const surrogateEscape = (escape: string): string =>
  `\`${escape}\` in a double-quoted string is half of a UTF-16 surrogate pair, not a character; kubectl refuses it (found invalid Unicode character escape code); write the character, or \`\\U\` and its 8-digit code point`;
// One escape at a time from the left, so that in `\\'` the backslash is escaped, not the quote.
const escapes = /\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[^])/g;

function isSurrogate(hex: string): boolean {
  const code = Number.parseInt(hex, 16);
  return code >= 0xd800 && code <= 0xdfff;
}

/** Where a quoted scalar's source closes (the index of its closing quote), or -1 if it does not. */
function closingQuote(source: string): number {
  if (source.startsWith("'")) {
    for (let i = 1; i < source.length; i++) {
      if (source[i] !== "'") continue;
      if (source[i + 1] !== "'") return i;
      i++; // `''` is a quote inside
    }
    return -1;
  }
  for (let i = 1; i < source.length; i++) {
    if (source[i] === '\\') i++;
    else if (source[i] === '"') return i;
  }
  return -1;
}

function checkQuoted(token: CST.FlowScalar, found: Differences, json: boolean): void {
  const { source, offset } = token;
  // The library ends a quoted scalar at the end of its line when the next one is indented no more
  // than its key; if the line then ends in an escaped quote, it reports no missing quote. kubectl
  // reads on to the real closing quote, a different document.
  if (closingQuote(source) !== source.length - 1) {
    found.refusals.push({ offset: offset + source.length - 1, code: 'MISSING_CHAR', message: unclosedQuote });
    return;
  }
  if (token.type !== 'double-quoted-scalar' || !source.includes('\\')) return;
  const quotes: number[] = [];
  let refused = false;
  let loneHalves = false;
  for (const match of source.matchAll(escapes)) {
    const escaped = match[1] ?? '';
    const at = offset + match.index;
    if (escaped === "'") quotes.push(at);
    else if (refused) continue;
    else if (escaped === '\n' || escaped === '\r') {
      // An escaped line break drops the break and the next line's indentation; an empty line after
      // it is one line break for go-yaml, none for the library.
      if (/^(?:\r\n|\n)?[ \t]*(?:\r\n|\n)/.test(source.slice(match.index + 2))) {
        found.refusals.push({ offset: at, code: 'BAD_DQ_ESCAPE', message: escapedBreakBeforeEmptyLine });
        refused = true;
      }
    } else if (escaped.length > 1 && isSurrogate(escaped.slice(1))) {
      // JSON (kubectl's decoder for a file that starts with `{`) takes surrogate escapes: a pair is
      // its character, a lone half U+FFFD.
      if (json) loneHalves = true;
      else {
        found.refusals.push({ offset: at, code: 'BAD_DQ_ESCAPE', message: surrogateEscape(match[0]) });
        refused = true;
      }
    } else if (escaped === '/' && !json) {
      found.refusals.push({ offset: at, code: 'BAD_DQ_ESCAPE', message: slashEscape });
      refused = true;
    }
  }
  if (quotes.length > 0) {
    // The library's own decoding (line folding included), given the one spelling of `'` it knows.
    const respelled = source.replace(escapes, (whole: string, escaped: string) => (escaped === "'" ? '\\x27' : whole));
    const { value } = CST.resolveAsScalar({ ...token, source: respelled }, true, () => undefined);
    found.corrections.push({ offset, value, escapes: quotes });
  } else if (loneHalves) {
    const { value } = CST.resolveAsScalar(token, true, () => undefined);
    const whole = wellFormed(value);
    if (whole !== value) found.corrections.push({ offset, value: whole, escapes: [] });
  }
}

/** `value` with each lone surrogate replaced by U+FFFD, as Go's JSON decoder reads one. */
function wellFormed(value: string): string {
  return value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

const isEmpty = (node: CST.Token | undefined): boolean => node === undefined || (node.type === 'scalar' && node.source === '');

/**
 * A tag in a flow collection with nothing after it (`[!a, b]`, `{a: !t, b: c}`): go-yaml reads the
 * `,` (or `]`, `}`) into the tag's name and tags what comes next, so kubectl reads another value or
 * refuses the text, where the library reads an empty tagged item.
 */
function checkFlowTags(item: CST.CollectionItem, found: Differences): void {
  const startTag = item.start.find((t) => t.type === 'tag');
  const sepTag = item.sep?.find((t) => t.type === 'tag');
  const emptyAfterStart = startTag !== undefined && (item.key === undefined || item.key === null ? isEmpty(item.value ?? undefined) : isEmpty(item.key));
  const emptyAfterSep = sepTag !== undefined && isEmpty(item.value ?? undefined);
  const tag = emptyAfterStart ? startTag : emptyAfterSep ? sepTag : undefined;
  if (tag !== undefined) found.refusals.push({ offset: tag.offset, code: 'MISSING_CHAR', message: emptyFlowTag });
}

/**
 * Walks a document's tokens with a stack of its own, not recursion: a hostile text may nest
 * collections thousands deep (the depth check that refuses it comes after this walk).
 */
function findDifferences(document: CST.Token, found: Differences, json: boolean): void {
  const stack: { token: CST.Token | null | undefined; inFlow: boolean }[] = [{ token: document, inFlow: false }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { token, inFlow } = next;
    if (token === null || token === undefined) continue;
    switch (token.type) {
      case 'document':
        stack.push({ token: token.value, inFlow: false });
        break;
      case 'double-quoted-scalar':
      case 'single-quoted-scalar':
        checkQuoted(token, found, json);
        break;
      case 'scalar':
        // In a flow collection go-yaml ends a plain scalar at `?` and takes `:` at its start for a
        // value indicator: kubectl refuses what the library reads as one string, or reads a mapping.
        if (inFlow && (token.source.includes('?') || token.source.startsWith(':'))) found.refusals.push({ offset: token.offset, code: 'BAD_SCALAR_START', message: flowPlainIndicator });
        break;
      case 'block-map':
      case 'flow-collection': {
        const flow = token.type === 'flow-collection';
        // In any order: refusals are reported by offset (applyDifferences).
        for (const item of token.items) {
          stack.push({ token: item.key, inFlow: flow }, { token: item.value, inFlow: flow });
          if (flow) checkFlowTags(item, found);
          else if (item.value !== undefined && !(item.sep?.some((t) => t.type === 'map-value-ind') ?? false)) {
            found.refusals.push({ offset: item.value.offset, code: 'MISSING_CHAR', message: valueWithoutColon });
          }
        }
        break;
      }
      case 'block-seq':
        for (const item of token.items) stack.push({ token: item.value, inFlow: false });
        break;
      default:
    }
  }
}

/**
 * Passes the parser's tokens on, noting for each document where kubectl reads it otherwise; `json`:
 * the file is one kubectl reads as JSON (input.ts's startsAsJson of the whole file).
 */
export function* noteDifferences(tokens: Iterable<CST.Token>, json: boolean, found: Differences[]): Generator<CST.Token> {
  for (const token of tokens) {
    if (token.type === 'document') {
      const differences: Differences = { refusals: [], corrections: [] };
      findDifferences(token, differences, json);
      found.push(differences);
    }
    yield token;
  }
}

/**
 * Makes each composed document read as kubectl reads it: the scalars noted for correction get
 * kubectl's value (and lose the library's errors for their `\'`), and each refusal becomes an error.
 */
export function applyDifferences(docs: readonly Document.Parsed[], found: readonly Differences[]): void {
  docs.forEach((doc, i) => {
    const { refusals, corrections } = found[i] ?? { refusals: [], corrections: [] };
    if (corrections.length > 0) {
      const byOffset = new Map(corrections.map((c) => [c.offset, c.value]));
      forEachNode(doc.contents, (node: Node) => {
        const value = node.range === null || node.range === undefined ? undefined : byOffset.get(node.range[0]);
        if (value !== undefined && 'value' in node && typeof node.value === 'string') node.value = value;
      });
      const corrected = new Set(corrections.flatMap((c) => c.escapes));
      doc.errors = doc.errors.filter((e) => !(e.code === 'BAD_DQ_ESCAPE' && corrected.has(e.pos[0])));
    }
    for (const { offset, code, message } of [...refusals].sort((a, b) => a.offset - b.offset)) doc.errors.push(new YAMLParseError([offset, offset + 1], code, message));
  });
}
