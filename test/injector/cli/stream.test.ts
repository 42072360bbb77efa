// The document splitter: regions partition the source exactly, whatever the stream looks like.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseStream } from '../../../injector/cli/stream.js';

const pieces = [
  'a: 1\n', 'a: 1', '# comment\n', '---\n', '--- \n', '...\n', '%YAML 1.2\n', 'b:\n  - x\n  - y\n', '\n',
  'k: {x: 1}  # trailing\n', '- one\n- two\n', 'plain scalar\n', '--- # marker comment\n',
];

test('concatenating the document regions gives back the source, byte for byte', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), (parts) => {
      const source = parts.join('');
      const stream = parseStream('p.yaml', source);
      const rebuilt = stream.documents.map((d) => d.text).join('') + stream.orphanText;
      assert.equal(rebuilt, source);
      stream.documents.forEach((d, i) => assert.equal(d.index, i + 1));
    }),
    { numRuns: 500 },
  );
});

test('leading comments and directives belong to the first document; `...` to the one it closes', () => {
  const source = '%YAML 1.2\n# lead\n---\na: 1\n...\n# between\n---\nb: 2\n';
  const stream = parseStream('p.yaml', source);
  assert.deepEqual(
    stream.documents.map((d) => d.text),
    ['%YAML 1.2\n# lead\n---\na: 1\n...\n', '# between\n---\nb: 2\n'],
  );
  const empty = parseStream('e.yaml', '# only a comment\n');
  assert.equal(empty.documents.length, 0);
  assert.equal(empty.orphanText, '# only a comment\n');
});

test('a `? key` followed by a sequence without `:` is an error, as kubectl says, not a key with its value dropped', () => {
  // The yaml library alone reads `? a\n- b` as {a: null} and reports nothing.
  for (const source of ['? a\n- b\n', 'x: 1\n? a\n- b\n- c\n', 'ok: 1\n---\nspec:\n  ? a\n  - hostNetwork: true\n']) {
    const stream = parseStream('p.yaml', source);
    const bad = stream.documents.at(-1);
    assert.ok(bad !== undefined);
    assert.equal(bad.doc.errors.length, 1, source);
    assert.match(bad.doc.errors[0]?.message ?? '', /kubectl refuses this document \(did not find expected key\)/);
    assert.equal(bad.doc.errors[0]?.pos[0], source.search(/- (b|host)/), 'the error points at the sequence');
  }
  // With `:` the value is the key's.
  for (const source of ['? a\n: b\n', '? a\n:\n- b\n', '? - a\n  - b\n: c\n', '? a\n', 'a: b?\n']) {
    assert.deepEqual(parseStream('p.yaml', source).documents[0]?.doc.errors, [], source);
  }
});

test('`\\/` in a double-quoted string is an error, as kubectl says (YAML 1.1 has no such escape)', () => {
  for (const source of ['a: "\\/"\n', 'a:\n- "x\\\\\\/"\n', '"\\/": 1\n', 'a: {b: "\\/"}\n']) {
    const errors = parseStream('p.yaml', source).documents[0]?.doc.errors ?? [];
    assert.equal(errors.length, 1, source);
    assert.match(errors[0]?.message ?? '', /not an escape for kubectl/);
    assert.equal(errors[0]?.pos[0], source.lastIndexOf('\\/'), 'the error points at the escape');
  }
  // An escaped backslash before a slash is fine; so is a slash in single quotes or plain.
  for (const source of ['a: "x\\\\/y"\n', "a: '\\/'\n", 'a: \\/\n', 'a: /b/c\n']) {
    assert.deepEqual(parseStream('p.yaml', source).documents[0]?.doc.errors, [], source);
  }
});

test('`\\\'` in a double-quoted string is a quote, as kubectl reads it (the yaml library alone refuses it)', () => {
  const cases: [string, unknown][] = [
    ['a: "it\\\'s"\n', { a: "it's" }],
    ['"k\\\'": "\\\\\\\'"\n', { "k'": "\\'" }],
    ['a: ["\\\'", {b: "\\\\\'"}]\n', { a: ["'", { b: "\\'" }] }],
    ['a: "x\\\'\n  y\n\n  \\\'z \\x27"\n', { a: "x' y\n'z '" }],
    ['a:\n- "\\\'" # c\n- \'\\\'\n', { a: ["'", '\\'] }],
  ];
  for (const [source, expected] of cases) {
    const doc = parseStream('p.yaml', source).documents[0]?.doc;
    assert.deepEqual(doc?.errors, [], source);
    assert.deepEqual(doc?.toJS(), expected, source);
  }
  // Another bad escape in the same scalar is still reported, and only it.
  const mixed = parseStream('p.yaml', 'a: "\\\' \\q"\n').documents[0]?.doc.errors ?? [];
  assert.deepEqual(mixed.map((e) => e.message.split(' at line')[0]), ['Invalid escape sequence \\q']);
});

test('an escape of half a UTF-16 surrogate pair is an error, as kubectl says; whole characters are read', () => {
  for (const escape of ['\\ud800', '\\uDBFF', '\\udc00', '\\uDFFF', '\\U0000D800', '\\U0000dfff']) {
    for (const source of [`a: "${escape}"\n`, `a: "\\ud83d${escape}"\n`, `"x${escape}": 1\n`, `a: ["${escape}"]\n`]) {
      const stream = parseStream('p.yaml', source);
      const errors = stream.documents[0]?.doc.errors ?? [];
      assert.equal(errors.length, 1, source);
      assert.match(errors[0]?.message ?? '', /half of a UTF-16 surrogate pair, not a character; kubectl refuses it \(found invalid Unicode character escape code\)/, source);
      assert.equal(errors[0]?.pos[0], source.search(/\\[uU]0*[dD][89a-fA-F]/), `${source}: the error points at the first half`);
    }
  }
  const whole = parseStream('p.yaml', 'a: "\\ud7ff \\ue000 \\U0001F600 \\\\ud800"\n').documents[0]?.doc;
  assert.deepEqual(whole?.errors, []);
  assert.deepEqual(whole?.toJS(), { a: '\ud7ff \ue000 \u{1F600} \\ud800' });
});

test('a quoted string whose line ends in an escaped quote and continues unindented is an error: kubectl reads on to the real closing quote', () => {
  // The yaml library alone ends the string at the line's end, finds a quote there and reads `j` as
  // a key of its own; kubectl reads one string, `a" j: b`.
  for (const source of ['k: "a\\"\nj: b"\n', "k: 'a''\nj: b'\n", 'm:\n  k: "x \\\\\\"\n  j: b"\n']) {
    const errors = parseStream('p.yaml', source).documents[0]?.doc.errors ?? [];
    assert.equal(errors.length, 1, source);
    assert.match(errors[0]?.message ?? '', /a quoted string not closed on its line \(it ends in an escaped quote\) continues on a line indented no more than its key/, source);
    assert.equal(errors[0]?.pos[0], source.search(/["']\n/), `${source}: the error points at the line's last quote`);
  }
  // Indented continuation lines read as kubectl reads them; an escaped backslash before a quote closes.
  const cases: [string, unknown][] = [
    ['m:\n  k: "a\\"\n    j: b"\n', { m: { k: 'a" j: b' } }],
    ["m:\n  k: 'a''\n    j: b'\n", { m: { k: "a' j: b" } }],
    ['k: "a\\\\"\nj: b\n', { k: 'a\\', j: 'b' }],
    ["k: 'a'''\nj: b\n", { k: "a'", j: 'b' }],
  ];
  for (const [source, expected] of cases) {
    const doc = parseStream('p.yaml', source).documents[0]?.doc;
    assert.deepEqual(doc?.errors, [], source);
    assert.deepEqual(doc?.toJS(), expected, source);
  }
});

test('an escaped line break before an empty line is an error: kubectl keeps the empty line, the yaml library does not', () => {
  for (const source of ['k: "a\\\n\n  b"\n', 'k: "a\\\n  \n\n  b"\n', 'k: "a\\\r\n\r\n  b"\r\n']) {
    const errors = parseStream('p.yaml', source).documents[0]?.doc.errors ?? [];
    assert.equal(errors.length, 1, JSON.stringify(source));
    assert.match(errors[0]?.message ?? '', /an escaped line break .* followed by an empty line/);
    assert.equal(errors[0]?.pos[0], source.indexOf('\\'), 'the error points at the escape');
  }
  // Without the empty line, or with the break not escaped, both read the same.
  for (const [source, expected] of [['k: "a\\\n  b"\n', 'ab'], ['k: "a\\\n   b\\\n  c"\n', 'abc'], ['k: "a\n\n  b"\n', 'a\nb'], ['k: "a\\\\\n\n  b"\n', 'a\\\nb']] as const) {
    const doc = parseStream('p.yaml', source).documents[0]?.doc;
    assert.deepEqual(doc?.errors, [], JSON.stringify(source));
    assert.deepEqual(doc?.toJS(), { k: expected }, JSON.stringify(source));
  }
});

test('`?` in an unquoted string of a flow collection, or `:` at its start, is an error: YAML 1.1 reads indicators there', () => {
  // kubectl reads `[?a]` as [{a: null}] and refuses the others; the yaml library alone reads strings.
  for (const source of ['a: [?a]\n', 'a: [http://x/y?z=1]\n', 'a: {k: a?b}\n', 'a: {k: :a}\n', 'a: {x?: 1}\n']) {
    const errors = parseStream('p.yaml', source).documents[0]?.doc.errors ?? [];
    assert.ok(errors.some((e) => /holds `\?` or starts with `:`, which YAML 1\.1 reads there as indicators/.test(e.message)), source);
  }
  for (const source of ['a: ["?a", \'x?\', a:b, {? k : v}]\n', 'a: x?y\n', 'a:\n- ?b\n']) {
    assert.deepEqual(parseStream('p.yaml', source).documents[0]?.doc.errors, [], source);
  }
});

test('a tag with nothing after it in a flow collection is an error: YAML 1.1 tags what comes after the comma', () => {
  // kubectl reads `[!a, b]` as ["b"] and `{a: !t, b}` as {a: "b"}; the yaml library alone reads empty tagged items.
  for (const source of ['k: [!a, b]\n', 'k: [!!str, 1]\n', 'k: {a: !t, b}\n', 'k: {!t, a: b}\n', 'k: [&a !t, b]\n', 'k: [!a]\n']) {
    const errors = parseStream('p.yaml', source).documents[0]?.doc.errors ?? [];
    assert.ok(errors.some((e) => /a tag with nothing after it in a flow collection/.test(e.message)), source);
  }
  for (const source of ['k: [!!str 1, &x !t c]\n', 'k: {a: !!str b}\n', 'k: !!str\n', 'k:\n- !!str\n']) {
    assert.ok(!(parseStream('p.yaml', source).documents[0]?.doc.errors ?? []).some((e) => /a tag with nothing after it/.test(e.message)), source);
  }
});
