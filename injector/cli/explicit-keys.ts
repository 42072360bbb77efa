// A value the yaml library drops without a word.
//
// After an explicit key (`? key`), YAML wants `:` before the value. Given `? key` and then a
// block sequence on the next line, the yaml library's parser makes the sequence the entry's value
// anyway, with no `:`, and its composer then leaves the value out and reports nothing: the
// document reads as `{key: null}`, and whatever the sequence held is gone. kubectl (go-yaml)
// refuses the same text ("did not find expected key"), so Pillion must not decide on a reading
// of it. The parser's tokens still show the case: a block map entry with a value and no `:`.
import { YAMLParseError } from 'yaml';
import type { CST, Document } from 'yaml';

const message = 'a `? key` entry has a value on the next lines without `:` before it; kubectl refuses this document (did not find expected key)';

function findValuesWithoutColon(token: CST.Token | null | undefined, found: number[]): void {
  if (token === null || token === undefined) return;
  if (token.type === 'document') findValuesWithoutColon(token.value, found);
  else if (token.type === 'block-map' || token.type === 'flow-collection') {
    for (const item of token.items) {
      const colon = item.sep?.some((t) => t.type === 'map-value-ind') ?? false;
      if (token.type === 'block-map' && item.value !== undefined && !colon) found.push(item.value.offset);
      findValuesWithoutColon(item.key, found);
      findValuesWithoutColon(item.value, found);
    }
  } else if (token.type === 'block-seq') {
    for (const item of token.items) findValuesWithoutColon(item.value, found);
  }
}

/**
 * Passes the parser's tokens on, noting for each document the offsets of values without `:`.
 * Only a text with a `?` can have an explicit key: the walk is skipped for any other.
 */
export function* noteValuesWithoutColon(tokens: Iterable<CST.Token>, text: string, found: number[][]): Generator<CST.Token> {
  const look = text.includes('?');
  for (const token of tokens) {
    if (token.type === 'document') {
      const offsets: number[] = [];
      if (look) findValuesWithoutColon(token, offsets);
      found.push(offsets);
    }
    yield token;
  }
}

/** Adds an error to each document for each value noted by noteValuesWithoutColon. */
export function reportValuesWithoutColon(docs: readonly Document.Parsed[], found: readonly number[][]): void {
  docs.forEach((doc, i) => {
    for (const offset of found[i] ?? []) doc.errors.push(new YAMLParseError([offset, offset + 1], 'MISSING_CHAR', message));
  });
}
