// Turning the bytes of a manifest file into text, or saying clearly why they are not a manifest.
//
// kubectl reads UTF-8, and UTF-16 (either byte order) when the file starts with a byte order mark;
// it refuses control characters outside YAML's printable set ("control characters are not
// allowed"). Pillion accepts the same and says where the first bad byte is: decoding bad UTF-8
// with replacement characters would silently change the bytes of documents it promises to give
// back unchanged. A UTF-8 byte order mark is kept (it is part of the text given back); UTF-16
// input is given back as UTF-8, which kubectl reads the same.

import { readJsonValues, type JsonValue } from './json-reader.js';

/** Bytes read from all `-f` inputs together before Pillion stops with an error. */
export const maxInputBytes = 64 * 1024 * 1024;

export type DecodedInput =
  /** `json`: for a file kubectl reads as JSON, the values JSON.parse read from it (not parsed again). */
  | { readonly ok: true; readonly text: string; readonly json?: readonly JsonValue[] }
  | { readonly ok: false; readonly message: string; readonly line: number | undefined };

/** Offset of the first byte that is not part of well-formed UTF-8, or -1. */
function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [length, min] = [2, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [length, min] = [3, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [length, min] = [4, 0x10000];
    else return i;
    let code = b & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      code = (code << 6) | (c & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += length;
  }
  return -1;
}

function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

// Refused characters, found in one pass: those outside YAML's printable set (tab, LF, CR, NEL, and
// U+FEFF, a byte order mark, are in it), YAML 1.1's line breaks besides LF and CR, and byte order
// marks (refused only at a line's start, below).
// eslint-disable-next-line no-control-regex
const refusedChars = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u2028\u2029\uFEFF\uFFFE\uFFFF]/g;

// NEL, LS and PS: go-yaml breaks lines at them anywhere (a plain scalar or a comment ends there, a
// double-quoted one folds NEL into a space), the yaml library (YAML 1.2) reads them as ordinary
// characters. Rather than read such a text otherwise than kubectl, Pillion refuses it, naming the
// escape that spells the character in both. Not in a text that starts with `{`: kubectl reads
// that with its JSON decoder, where they are ordinary characters, as for the library.
const breakNames: Readonly<Record<string, string>> = { '\u0085': 'NEL, next line', '\u2028': 'LS, line separator', '\u2029': 'PS, paragraph separator' };
// kubectl's check (k8s.io/apimachinery's GuessJSONStream) skips what Go's unicode.IsSpace takes
// for white space, a wider set than JSON's.
const jsonStart = /^\uFEFF?[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*\{/;

/** Whether kubectl reads this text with its JSON decoder (its first character but spaces is `{`) rather than as YAML. */
export function startsAsJson(text: string): boolean {
  return jsonStart.test(text);
}

// A byte order mark after the file's first character, at the start of a line: kubectl drops one at
// the start of each document, the yaml library reads it as part of the first key. Elsewhere both
// read it as a character.
function isLineStartBom(text: string, at: number): boolean {
  return at > 0 && (text.charCodeAt(at - 1) === 0x0a || (at === 1 && text.charCodeAt(0) === 0xfeff));
}

function describeChar(c: string): string {
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The text of a manifest file, decoded as kubectl decodes it. */
export function decodeManifest(bytes: Uint8Array): DecodedInput {
  let text: string;
  let encoding = 'UTF-8';
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    encoding = bytes[0] === 0xff ? 'UTF-16LE' : 'UTF-16BE';
    try {
      // The BOM is dropped: the text is given back as UTF-8.
      text = new TextDecoder(encoding.toLowerCase(), { fatal: true }).decode(bytes);
    } catch {
      return { ok: false, message: `not valid ${encoding} text (it starts with a ${encoding} byte order mark)`, line: undefined };
    }
  } else {
    const bad = invalidUtf8Offset(bytes);
    if (bad >= 0) {
      const prefix = Buffer.from(bytes.subarray(0, bad)).toString('utf8');
      const byte = (bytes[bad] as number).toString(16).padStart(2, '0');
      return refusedAt(prefix, prefix.length, `not UTF-8 text: byte 0x${byte} at offset ${bad}; a manifest must be UTF-8, or UTF-16 starting with a byte order mark`);
    }
    text = Buffer.from(bytes).toString('utf8');
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const message = encoding === 'UTF-8' ? 'contains NUL bytes: a binary file, or UTF-16 without a byte order mark' : 'contains NUL characters, which YAML does not allow';
    return refusedAt(text, nul, message);
  }
  return refuseCharacters(text) ?? (startsAsJson(text) ? readJson(text) : { ok: true, text });
}

function refusedAt(text: string, offset: number, message: string): DecodedInput {
  return { ok: false, message, line: lineOfOffset(text, offset) };
}

/** The first character kubectl refuses or reads otherwise than the yaml library (refusedChars), refused; undefined if none. */
function refuseCharacters(text: string): DecodedInput | undefined {
  const json = startsAsJson(text);
  refusedChars.lastIndex = 0;
  for (let found = refusedChars.exec(text); found !== null; found = refusedChars.exec(text)) {
    const c = found[0];
    if (c === '\uFEFF') {
      if (isLineStartBom(text, found.index)) {
        return refusedAt(text, found.index, 'has a byte order mark (U+FEFF) at the start of a line: kubectl drops it at the start of a document, the yaml library reads it as text; remove it');
      }
      continue;
    }
    // JSON takes DEL, C1 and the noncharacters U+FFFE and U+FFFF as they are in a string, and so
    // does kubectl's JSON decoder (YAML does not, so a YAML stream gets them escaped).
    if (json && /[\x7F-\x84\x86-\x9F\uFFFE\uFFFF]/.test(c)) continue;
    const breakName = breakNames[c];
    if (breakName === undefined) {
      return refusedAt(text, found.index, `contains the control character ${describeChar(c)}, which YAML does not allow (kubectl refuses it too); write it as an escape in a double-quoted string`);
    }
    if (!json) {
      return refusedAt(text, found.index, `contains ${describeChar(c)} (${breakName}), which kubectl reads as a line break (YAML 1.1) and Pillion would not; write it as \\${breakName[0]} in a double-quoted string`);
    }
  }
  return undefined;
}

/**
 * A file kubectl reads with its JSON decoder, with the values JSON.parse reads (one object, or a
 * stream of them); refused where it is not that: the yaml library, which reads a value where
 * JSON.parse may read otherwise (json-reader.ts), takes YAML too. kubectl 1.33 and later read a
 * file whose first or second value is not JSON as YAML from there on; 1.32 and older refuse it,
 * and so does Pillion, saying how to write it for both.
 */
function readJson(text: string): DecodedInput {
  const read = readJsonValues(text);
  if (read.ok) return { ok: true, text, json: read.values };
  const { index, offset, reason, notObject } = read;
  const message = notObject
    ? 'holds a JSON value that is not an object at this line; kubectl refuses it too'
    : index === 0
      ? `starts with \`{\` and is not JSON (${reason}): kubectl 1.32 and older refuse it, 1.33 and later read it as YAML; a line \`---\` before it has every kubectl read it as YAML`
      : index === 1
        ? `holds a JSON object and then text that is not one (${reason}): kubectl 1.32 and older refuse it, 1.33 and later read the rest as YAML; a line \`---\` at the start has every kubectl read the whole file as YAML`
        : `is a stream of JSON objects, and the one at this line is not one (${reason}); kubectl refuses it too`;
  return refusedAt(text, offset, message);
}
