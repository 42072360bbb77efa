// Texts the yaml library reads without a word but kubectl refuses.
//
// Pillion must not decide on a reading of a document kubectl would not apply: the user's
// `kubectl apply` of the output fails, or, worse, Pillion's reading differs from what kubectl
// would have sent. The parser's tokens still show each case:
//
// - After an explicit key (`? key`), YAML wants `:` before the value. Given `? key` and then a
//   block sequence on the next lines, the library's parser makes the sequence the entry's value
//   anyway, and its composer then leaves the value out: the document reads as `{key: null}`, and
//   the sequence is gone. kubectl (go-yaml v2) refuses it: "did not find expected key".
// - `\/` in a double-quoted scalar is an escape of YAML 1.2, which the library reads; kubectl's
//   go-yaml v2 reads YAML 1.1, where it is not one: "found unknown escape character".
//
// Checked against kubectl in test/injector/cli/kube-yaml.test.ts.
import { YAMLParseError } from 'yaml';
import type { CST, Document, ErrorCode } from 'yaml';

/** Where kubectl refuses a document, and its words. */
export interface Refusal {
  readonly offset: number;
  readonly code: ErrorCode;
  readonly message: string;
}

const valueWithoutColon = 'a `? key` entry has a value on the next lines without `:` before it; kubectl refuses this document (did not find expected key)';
const slashEscape = '`\\/` in a double-quoted string is not an escape for kubectl, which reads YAML 1.1 (found unknown escape character); write `/`';
// A backslash that escapes a slash: an odd number of backslashes before it.
const escapedSlash = /(?<!\\)(?:\\\\)*\\\//;

function findRefusals(token: CST.Token | null | undefined, found: Refusal[]): void {
  if (token === null || token === undefined) return;
  switch (token.type) {
    case 'document':
      findRefusals(token.value, found);
      break;
    case 'double-quoted-scalar': {
      const match = escapedSlash.exec(token.source);
      if (match !== null) found.push({ offset: token.offset + match.index + match[0].length - 2, code: 'BAD_DQ_ESCAPE', message: slashEscape });
      break;
    }
    case 'block-map':
    case 'flow-collection':
      for (const item of token.items) {
        const colon = item.sep?.some((t) => t.type === 'map-value-ind') ?? false;
        if (token.type === 'block-map' && item.value !== undefined && !colon) found.push({ offset: item.value.offset, code: 'MISSING_CHAR', message: valueWithoutColon });
        findRefusals(item.key, found);
        findRefusals(item.value, found);
      }
      break;
    case 'block-seq':
      for (const item of token.items) findRefusals(item.value, found);
      break;
    default:
  }
}

/**
 * Passes the parser's tokens on, noting for each document where kubectl would refuse it. Only a
 * text with a `?` or a `\/` can hold such a place: the walk is skipped for any other.
 */
export function* noteRefusals(tokens: Iterable<CST.Token>, text: string, found: Refusal[][]): Generator<CST.Token> {
  const look = text.includes('?') || text.includes('\\/');
  for (const token of tokens) {
    if (token.type === 'document') {
      const refusals: Refusal[] = [];
      if (look) findRefusals(token, refusals);
      found.push(refusals);
    }
    yield token;
  }
}

/** Adds an error to each document for each refusal noted by noteRefusals. */
export function reportRefusals(docs: readonly Document.Parsed[], found: readonly Refusal[][]): void {
  docs.forEach((doc, i) => {
    for (const { offset, code, message } of found[i] ?? []) doc.errors.push(new YAMLParseError([offset, offset + 1], code, message));
  });
}
