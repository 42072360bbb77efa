// The quick reader (injector/cli/block-reader.ts) against the yaml library's parser, which it
// stands in for: on every text it reads, the documents, their regions, the line starts and every
// node (class, value, source, style, range) must be the ones the yaml library gives; on a text it
// does not read, parseStream must be the yaml library's reading. Texts: every corpus manifest and
// fixture, the benchmark's workloads, hand-picked edge cases and generated line soups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { isMap, isPair, isScalar, isSeq } from 'yaml';
import { readBlockStream } from '../../../injector/cli/block-reader.js';
import { parseStream, parseWithYaml } from '../../../injector/cli/stream.js';
import type { ParsedStream } from '../../../injector/cli/stream.js';
import { bookinfoSource, manyEnvDeployment, replicate } from '../../../bench/peers/workloads.js';
import { requireSharedCorpusInCI, sharedCorpusDir } from '../../support/corpus.js';
import { repoPath } from '../../support/paths.js';
import { printTree, type Tree } from './block-yaml.js';

/** A node of either reader as plain data: what everything after reading looks at. */
function describe(node: unknown): unknown {
  if (node === null || node === undefined) return node;
  if (isPair(node)) return { key: describe(node.key), value: describe(node.value) };
  if (isMap(node) || isSeq(node)) {
    return { kind: isMap(node) ? 'map' : 'seq', range: node.range, flow: node.flow ?? false, tag: node.tag, anchor: node.anchor, items: node.items.map(describe) };
  }
  if (isScalar(node)) {
    const value = node.value;
    return { kind: 'scalar', value: Number.isNaN(value) ? 'NaN' : value, type: node.type, source: node.source, range: node.range, tag: node.tag, anchor: node.anchor };
  }
  return { kind: 'other', type: typeof node };
}

function describeStream(stream: ParsedStream): unknown {
  return {
    documents: stream.documents.map((d) => ({ index: d.index, offset: d.offset, text: d.text, range: d.doc.range, errors: d.doc.errors.length, docStart: d.doc.directives?.docStart ?? false, contents: describe(d.doc.contents) })),
    orphanText: stream.orphanText,
    lineStarts: stream.lineCounter.lineStarts,
    streamErrors: stream.streamErrors,
  };
}

const withBreak = (text: string): string => (text === '' || text.endsWith('\n') ? text : `${text}\n`);

type Taken = 'all' | 'some' | 'none';

/** How many of `text`'s documents the quick reader read itself; whatever it did, parseStream reads as the yaml library does. */
function compare(name: string, text: string): Taken {
  const reference = parseWithYaml(name, text);
  const quick = readBlockStream(withBreak(text));
  const read = quick?.documents.filter((d) => d.doc !== undefined).length ?? 0;
  quick?.documents.forEach((d, i) => {
    if (d.doc === undefined) return;
    const same = reference.documents[i];
    // Where the library cuts the stream elsewhere (its reading of a broken document before this
    // one), parseStream must read the whole stream with it: the comparison of streams below.
    if (same?.offset !== d.offset) return;
    assert.deepEqual(same?.doc.errors ?? [], [], `${name}: the quick reader read document ${i + 1}, which the yaml library finds errors in`);
    assert.deepEqual(same?.doc.warnings ?? [], [], `${name}: the quick reader read document ${i + 1}, which the yaml library warns about`);
  });
  assert.deepEqual(describeStream(parseStream(name, text)), describeStream(reference), `${name}: ${JSON.stringify(text)}`);
  if (read === 0) return 'none';
  return read === quick?.documents.length ? 'all' : 'some';
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return /\.(ya?ml|json)$/.test(entry) ? [path] : [];
  });
}

test('every corpus manifest and fixture reads the same with the quick reader', () => {
  const files = [...filesUnder(sharedCorpusDir), ...filesUnder(repoPath('test', 'fixtures'))];
  assert.ok(files.length > 10, 'fixtures found');
  let taken = 0;
  for (const file of files) if (compare(file, readFileSync(file, 'utf8')) !== 'none') taken++;
  // Most manifests are plain block YAML; a reader that declined them all would be dead code.
  assert.ok(taken >= files.length / 4, `the quick reader took ${taken} of ${files.length} files`);
});

test('the benchmark workloads are read by the quick reader', (t) => {
  if (process.env.PILLION_BOOKINFO === undefined && !requireSharedCorpusInCI()) {
    t.skip(`bookinfo is in the shared corpus ${sharedCorpusDir}, which is missing (or set PILLION_BOOKINFO)`);
    return;
  }
  const bookinfo = readFileSync(bookinfoSource(), 'utf8');
  assert.equal(compare('bookinfo', bookinfo), 'all');
  assert.equal(compare('3 x bookinfo', replicate(bookinfo, 3, 'b')), 'all');
  assert.equal(compare('many-env', manyEnvDeployment(300)), 'all');
});

test('edge cases: taken ones read the same, the rest go to the yaml library', () => {
  const taken = [
    'a: 1\n',
    'a: 1',
    'a: 1  # c\nb:\n  c: "x"\n  d:\n  - e\n  - f: g\n    h:\n',
    '# head\n\na: 1\n\nb:\n  c: 2\n\n  d: 3\n\ne: 4\n',
    '---\na: 1\n\n\n---\nb: 2\n---\n\n# x\nc: 3',
    '# only above\n---\na:\n- 1\n- b\nc: d',
    '- a: 1\n  b: 2\n\n- c\n-\n  x: y\n',
    'a:\n  - x\n  -\n  - y: 1\n    z:\n      - q\n',
    'k: v   \nm:   \nn: "q\\"\\u00e9\\n"   # c\no: \'it\'\'s\'\np: -1\nq: a:b\nr: b#c\n',
    '"quoted key": 1\n\'single\': 2\nyes: no\n0400: 0400\n~: x\nnull:\n',
    'a: .inf\n',
    'env:\n- name: A\n  value: "1"\n- name: B\n  value: \'2\'\n',
    'a:\n  b:\n    c: 1\n  d: 2\ne: 3\n',
    'a: 1\n   \n  \nb: 2\n',
    'volumes:\n- name: tmp\n  emptyDir: {}\n- {}\n- []  # c\nargs: []\n',
    'a: # c\n  b: 1\n',
    'a: 1\n---\n\n\n',
    'a:\n\n\n',
    '- \n\n',
    'a: 1\n---\n---\n# c\nb: 1\n',
    '---\n---\na: 1\n',
    'a: 1\n---\n\n---\nb: 1\n---\n',
    '- "a": 1\n  \'b\': 2\n- \'name\': x\n',
    `${'k'.repeat(1000)}: 1\n`,
    Array.from({ length: 150 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'),
  ];
  for (const text of taken) assert.equal(compare('edge', text), 'all', `taken: ${JSON.stringify(text)}`);
  const declined = [
    '',
    '# only a comment\n',
    'a: [1, 2]\n',
    'a: [ ]\n',
    'a: {}x\n',
    'a: {b: 1}\n',
    'a: |\n  x\n',
    'a: >\n  x\n',
    'a: &x 1\nb: *x\n',
    'a: !!str 1\n',
    '<<:\n  a: 1\n',
    '%YAML 1.1\n---\na: 1\n',
    'a: 1\n...\n',
    'a:\n  b: 1\n  # inside\n  c: 2\n',
    'a: 1\n# trailing\n',
    'a:\tb\n',
    'a: 1\r\nb: 2\r\n',
    '  a: 1\n',
    '? a\n: 1\n',
    'a: b\n  c\n',
    '- a\n  b\n',
    'a: b: c\n',
    'a: "x\n  y"\n',
    '- - a\n',
    'a : 1\n',
    '--- a: 1\n',
    'a: 1\n- b\n',
    'scalar\n',
    'a: "\\x41"\n',
    'a: "x" y\n',
    'a: -\n',
    'a:\n  b: 1\n c: 2\n',
    'a: `x`\n',
    '\ufeffa: 1\n',
    `"${'k'.repeat(1023)}": 1\n`,
    `- "${'k'.repeat(1023)}": 1\n`,
    `${'k'.repeat(1023)}: 1\n`,
    // The yaml library's lexer reports no line start after the first line here.
    '? : {}\n- ": ""',
    '--- \u00a0\na: 1\n',
  ];
  for (const text of declined) {
    assert.equal(compare('edge', text), 'none', `declined: ${JSON.stringify(text)}`);
  }
  // Streams where some documents are the yaml library's: each alone when its region reads cleanly,
  // else the whole stream.
  const mixed = [
    'kind: ConfigMap\ndata:\n  run.sh: |\n    echo hi\n    # not a comment\n---\nkind: Deployment\nspec:\n  replicas: 1\n',
    'a: 1\n---\nb: |\n  x\tx\n---\nc: [1, 2]\n---\n# c\nd: 2\n',
    '# head\na: &x 1\nb: *x\n---\nc: 2\n---\n--- |\n  x\n',
    'a: 1\n---\nb: [\n---\nc: 2\n',
    'a: 1\n---\nb:\n  c: 1\n  # inside\n  d: 2\n# after\n\n---\ne: 3\n',
    'a: 1\n--- \u00a0\nb: 2\n---\nc: 3\n',
    'a: 1\n---\n# c\n',
    ':   # note\n\n---\nname: ',
    'a: 1\n---  \n',
    '# c\n---\n# d\n---\na: 1\n',
    'a: 1\n--- \u3000\n- x\n',
    ':a\n\n\n---',
    'a: |\n  x\n\n\n---\nb: 1\n',
  ];
  for (const text of mixed) assert.equal(compare('mixed', text), 'some', `mixed: ${JSON.stringify(text)}`);
  // The library's error recovery cuts this stream at the `{` of line 2, not at the `---`: the
  // quick reader's last document is not one of the library's, and the whole stream is the library's.
  assert.equal(compare('cut elsewhere', "': '\n{}: {}\n- >: %d\n---\n"), 'some');
  // Deeper than any object, and deep enough for the yaml library to give up at a depth that
  // depends on the stack it is called from (so not compared here): the library's to refuse.
  for (const line of ['-', 'k:']) {
    const deep = Array.from({ length: 1500 }, (_, i) => `${' '.repeat(i)}${line}\n`).join('');
    assert.deepEqual(readBlockStream(deep)?.documents, [{ offset: 0, end: deep.length, doc: undefined }], `${line} nested 1,500 deep is left to the yaml library`);
  }
});

// Line soups: lines of keys, entries and scalars at a few indentations, with the characters that
// change YAML's reading; many are not YAML at all. Whatever the quick reader takes must read the same.
const scalarText = fc.oneof(
  fc.constantFrom('{}', '[]', '{} # c', '[ ]', '{}x', 'x', 'yes', 'No', '~', 'null', '', '0400', '0x1F', '1_000', '1e3', '.5', '08', '.inf', '-1', '-x', '- x', 'a: b', 'a:b', 'b #c', 'b#c', '#c', '[x]', '{y}', '*z', '&w', '!t', '|', '>', '%d', '@', '`', '"q"', "'s'", '"a\\"b"', '"\\u00e9"', '"\\x41"', "'it''s'", '"x', "'x", '"x" y', '---', '...', '?', ':', 'a :', 'é', '\u00a0'),
  fc.string({ unit: fc.constantFrom('a', ' ', ':', '#', '-', '"', "'", '\\', '0', 'y'), maxLength: 8 }),
);
const line = fc.oneof(
  fc.tuple(fc.nat(6), scalarText, fc.constantFrom(': ', ':', ' : ', ':  '), scalarText).map(([indent, k, sep, v]) => `${' '.repeat(indent)}${k}${sep}${v}`),
  fc.tuple(fc.nat(6), fc.constantFrom('- ', '-', '-  ', '- - '), scalarText).map(([indent, dash, v]) => `${' '.repeat(indent)}${dash}${v}`),
  fc.tuple(fc.nat(6), fc.constantFrom('- ', '-  '), scalarText, scalarText).map(([indent, dash, k, v]) => `${' '.repeat(indent)}${dash}${k}: ${v}`),
  fc.constantFrom('', '   ', '# c', '  # c', '---', '--- ', '--- \u00a0', '---\u3000', '...', '%YAML 1.1'),
);

test('generated line soups: whatever the quick reader takes reads the same as with the yaml library', () => {
  let taken = 0;
  fc.assert(
    fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), fc.boolean(), (lines, finalBreak) => {
      if (compare('soup', lines.join('\n') + (finalBreak ? '\n' : '')) !== 'none') taken++;
    }),
    { numRuns: 3_000 },
  );
  assert.ok(taken > 0, `the quick reader took ${taken} generated texts`);
});

// Documents the way people write them: trees of maps, sequences and scalars printed as block YAML
// in varied styles (indentation step, flush or indented sequences, compact `- key:` entries, blank
// lines, end-of-line comments, quoting, `{}` and `[]`, several documents), sometimes with one line
// moved sideways, dropped or doubled (printed by block-yaml.ts).

// Mostly scalars a manifest would hold, now and then one of the soup's.
const fairScalar = fc.oneof(
  { arbitrary: fc.constantFrom('x', 'nginx:1.27', 'http://a:80/b', '8080', '-1', '1.5', 'true', 'yes', 'Off', '~', '0400', '"80"', "'a b'", '"\\u00e9 \\"q\\""', "'it''s'", 'a b c', 'é', 'x#y', 'a,b', '{}', '[]'), weight: 8 },
  { arbitrary: fc.stringMatching(/^[a-z][a-z0-9./_-]{0,10}$/), weight: 4 },
  { arbitrary: scalarText, weight: 1 },
);
const fairKey = fc.oneof(
  { arbitrary: fc.constantFrom('name', 'value', 'image', 'app.kubernetes.io/name', 'yes', '0400', '1.5', '"q k"', "'s k'", 'x y', '~'), weight: 8 },
  { arbitrary: scalarText, weight: 1 },
);
const treeOf: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree; collection: Tree }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.oneof(fairScalar, fc.constant(null)), tie('collection')),
  collection: fc.oneof(
    fc.array(fc.tuple(fairKey, tie('tree')), { minLength: 1, maxLength: 4 }).map((map) => ({ map })),
    fc.array(tie('tree'), { minLength: 1, maxLength: 4 }).map((seq) => ({ seq })),
  ),
})).collection;

test('generated block documents: whatever the quick reader takes reads the same as with the yaml library', () => {
  let taken = 0;
  const style = fc.record({
    step: fc.integer({ min: 1, max: 4 }),
    flush: fc.boolean(),
    compact: fc.boolean(),
    blanks: fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
    comments: fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
  });
  const mutation = fc.option(fc.tuple(fc.nat(), fc.constantFrom('left', 'right', 'drop', 'double')), { nil: undefined });
  fc.assert(
    fc.property(fc.array(fc.tuple(treeOf, style), { minLength: 1, maxLength: 3 }), fc.boolean(), fc.constantFrom('', '# head\n', '---\n', '# a\n---\n# b\n'), mutation, (docs, finalBreak, head, change) => {
      const lines: string[] = [];
      docs.forEach(([tree, s], i) => {
        if (i > 0) lines.push('---');
        printTree(tree, 0, s, lines, '');
      });
      if (change !== undefined && lines.length > 0) {
        const [at, how] = change;
        const i = at % lines.length;
        const line = lines[i] as string;
        if (how === 'left') lines[i] = line.replace(/^ /, '');
        else if (how === 'right') lines[i] = ` ${line}`;
        else if (how === 'drop') lines.splice(i, 1);
        else lines.splice(i, 0, line);
      }
      if (compare('generated', head + lines.join('\n') + (finalBreak ? '\n' : '')) !== 'none') taken++;
    }),
    { numRuns: 4_000 },
  );
  // The generator is meant to produce mostly what the reader takes.
  assert.ok(taken > 1_000, `the quick reader took ${taken} of 4,000 generated texts`);
});
