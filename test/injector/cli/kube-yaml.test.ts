// How `pillion inject` reads and writes YAML: as kubectl does (go-yaml v2 through sigs.k8s.io/yaml),
// not as YAML 1.2. The expectations in the tables were taken from kubectl 1.32
// (`kubectl annotate --local -f FILE x=y -o json`, which needs no cluster); the last tests repeat
// that comparison against the kubectl on PATH, fixed cases and generated ones alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Document } from 'yaml';
import { kubeParseOptions, resolvePlain, toKubeValue } from '../../../injector/cli/kube-yaml.js';
import { parseStream } from '../../../injector/cli/stream.js';
import { skipOrFail } from '../../support/privileges.js';
import { printTree, type Tree } from './block-yaml.js';

/** kubectl's value for each document of `source`, or the error message of the first failing one. */
function pillionRead(source: string): unknown[] {
  return parseStream('t.yaml', source).documents.map((d) => {
    if (d.doc.errors.length > 0) throw new Error(d.doc.errors.map((e) => e.message).join('; '));
    return toKubeValue(d.doc);
  });
}
const readOne = (source: string): unknown => pillionRead(source)[0];
const spec = (body: string): unknown => (readOne(`spec:\n${body}`) as { spec: unknown }).spec;

// [plain scalar text, the JSON value kubectl makes of it]
const plainScalars: [string, unknown][] = [
  ...['yes', 'Yes', 'YES', 'y', 'Y', 'on', 'On', 'ON', 'true', 'True', 'TRUE'].map((s): [string, unknown] => [s, true]),
  ...['no', 'No', 'NO', 'n', 'N', 'off', 'Off', 'OFF', 'false', 'False', 'FALSE'].map((s): [string, unknown] => [s, false]),
  ['yEs', 'yEs'], ['tRUE', 'tRUE'], ['oN', 'oN'], ['nUll', 'nUll'],
  ['~', null], ['null', null], ['Null', null], ['NULL', null],
  ['0400', 256], ['0644', 420], ['0755', 493], ['-0400', -256], ['+0400', 256], ['0o17', 15], ['0O17', 15],
  ['0x1F', 31], ['0X1F', 31], ['-0x10', -16], ['+0x10', 16], ['0b101', 5], ['0B11', 3], ['-0b101', -5], ['0b_1', 1],
  ['1_000', 1000], ['1__0', 10], ['0_7', 7], ['0x_1F', 31], ['0b-1', -1], ['0b+1', 1], ['0b-0', 0], ['-0b-1', '-0b-1'], ['1_', 1], ['08', 8], ['09', 9], ['0', 0], ['00', 0], ['-0', 0],
  ['+12', 12], ['0777777777777777777777', Number(2n ** 63n - 1n)], ['18446744073709551615', Number(2n ** 64n - 1n)],
  ['1:20', '1:20'], ['190:20:30', '190:20:30'], ['-1:20', '-1:20'], ['1:20.5', '1:20.5'],
  ['1e3', 1000], ['1.5e3', 1500], ['1_000.5', 1000.5], ['6.8523015e+5', 685230.15], ['1.', 1], ['.5', 0.5], ['+.5', 0.5],
  ['-.5', -0.5], ['0.1e-2', 0.001], ['1.5_0', 1.5], ['0400.5', 400.5], ['0.', 0],
  ['0x1p3', '0x1p3'], ['1e400', '1e400'], ['0x', '0x'], ['0b', '0b'], ['_1', '_1'], ['12e', '12e'], ['1e', '1e'],
  ['0x1F.5', '0x1F.5'], ['0b2', '0b2'], ['0o8', '0o8'], ['=', '='], ['<<', '<<'], ['+', '+'],
  ['2001-12-14t21:59:43.10-05:00', '2001-12-14t21:59:43.10-05:00'], ['2002-12-14', '2002-12-14'],
];

test('plain scalars: booleans, nulls, integers, floats and strings as kubectl reads them', () => {
  const doc = readOne(plainScalars.map(([text], i) => `v${i}: ${text}`).join('\n')) as Record<string, unknown>;
  plainScalars.forEach(([text, expected], i) => assert.deepEqual(doc[`v${i}`], expected, `plain scalar ${text}`));
  assert.equal(resolvePlain('').kind, 'null');
});

test('quoted, block and tagged scalars', () => {
  const cases: [string, unknown][] = [
    ['"yes"', 'yes'], ["'0400'", '0400'], ['!!str 0400', '0400'], ['!!str yes', 'yes'], ['!!str ~', '~'],
    ['!!int "0400"', 256], ["!!int '0x10'", 16], ['!!int 0400', 256], ['!!float 1', 1], ['!!float 0x10', 16], ['!!float "1.5"', 1.5],
    ['!!float 1e3', 1000], ['!!bool yes', true], ['!!bool "true"', true], ['!!bool NO', false], ['!!null ""', null],
    ['!!null ~', null], ['!!binary aGVsbG8=', 'hello'], ['!!binary "aGVsbG8="', 'hello'], ['!!timestamp 2002-12-14', '2002-12-14'],
    ['!foo 0400', '0400'], ['!foo yes', 'yes'], ['! 0400', '0400'], ['!<tag:yaml.org,2002:int> 0400', 256],
    ['!<tag:yaml.org,2002:str> 0400', '0400'], ['!!map {a: 1}', { a: 1 }], ['!!seq [1]', [1]], ['!!set {a, b}', { a: null, b: null }],
    ['!!omap [a: 1]', [{ a: 1 }]], ['|-\n    yes', 'yes'], ['>-\n    0400', '0400'],
  ];
  for (const [text, expected] of cases) assert.deepEqual(spec(`  v: ${text}`), { v: expected }, text);
  const refused: [string, RegExp][] = [
    ['!!int 1.5', /cannot decode !!float `1\.5` as a !!int/], ['!!int 1:20', /cannot decode !!str `1:20` as a !!int/],
    ['!!bool 1', /cannot decode !!int `1` as a !!bool/], ['!!null x', /cannot decode !!str `x` as a !!null/],
    ['!!float yes', /cannot decode !!bool `yes` as a !!float/], ['!!timestamp x', /as a !!timestamp/],
    ['!!binary "a b"', /invalid base64/], ['.inf', /cannot be represented in JSON/], ['-.Inf', /cannot be represented in JSON/],
    ['.nan', /cannot be represented in JSON/], ['!!float .inf', /cannot be represented in JSON/],
  ];
  for (const [text, message] of refused) assert.throws(() => spec(`  v: ${text}`), message, text);
});

test('mapping keys become the JSON strings kubectl makes of them', () => {
  const cases: [string, string][] = [
    ['yes', 'true'], ['on', 'true'], ['n', 'false'], ['0400', '256'], ['0x1F', '31'], ['1.5', '1.5'], ['1e3', '1000'], ['1e6', '1e+06'],
    ['1.0', '1'], ['1:20', '1:20'], ['2002-12-14', '2002-12-14'], ['"yes"', 'yes'], ['!!str yes', 'yes'], ['!!binary aGVsbG8=', 'hello'],
    ['1_0', '10'], ['.inf', '.inf'], ['-.inf', '-.inf'], ['0.1', '0.1'], ['123456789', '123456789'], ['1234567.5', '1.2345675e+06'],
    ['__proto__', '__proto__'],
  ];
  for (const [key, expected] of cases) {
    const value = spec(`  ${key}: v`) as Record<string, unknown>;
    assert.deepEqual(Object.keys(value), [expected], key);
    assert.equal(value[expected], 'v');
  }
  assert.throws(() => spec('  ~: v'), /null mapping key/);
  assert.throws(() => spec('  null: v'), /null mapping key/);
  assert.throws(() => spec('  [a, b]: v'), /cannot be a mapping key/);
  assert.throws(() => spec('  ? {a: 1}\n  : v'), /cannot be a mapping key/);
});

test('merge keys and duplicate keys follow go-yaml: set in order, the last write wins', () => {
  assert.deepEqual(spec('  a: 1\n  a: 2'), { a: 2 });
  assert.deepEqual(spec('  a: 1\n  <<: {a: 2, b: 2}'), { a: 2, b: 2 }, 'a merge after a key overrides it');
  assert.deepEqual(spec('  <<: {a: 2, b: 2}\n  a: 1'), { a: 1, b: 2 });
  assert.deepEqual(spec('  yes: 1\n  true: 2'), { true: 2 });
  assert.deepEqual(spec('  "<<": {a: 1}'), { '<<': { a: 1 } }, 'a quoted "<<" is an ordinary key');
  assert.deepEqual(spec("  '<<': {a: 1}"), { '<<': { a: 1 } });
  assert.deepEqual(spec('  !!merge <<: {a: 1}'), { a: 1 });
  const doc = readOne('x: &x {a: x, b: x}\nz: &z {a: z, c: z}\nspec:\n  <<: [*x, *z]\n  d: {<<: *x, b: own}\n') as Record<string, unknown>;
  assert.deepEqual(doc.spec, { a: 'x', b: 'x', c: 'z', d: { a: 'x', b: 'own' } }, 'earlier maps in a merge list win');
  assert.deepEqual(readOne('x: &x {a: {deep: 1}}\nspec:\n  <<: *x\n  a: {other: 2}\n'), { x: { a: { deep: 1 } }, spec: { a: { other: 2 } } }, 'merges are shallow');
  for (const bad of ['  <<: 1', '  <<: [1]', '  <<: ~']) assert.throws(() => spec(bad), /map merge requires map or sequence of maps/, bad);
  assert.throws(() => readOne('x: &x [1]\nspec:\n  <<: *x\n'), /map merge requires/);
});

function aliasFile(count: number): string {
  return `spec:\n  base: &b {x: 1}\n  items:\n${'  - *b\n'.repeat(count)}`;
}

function laughs(levels: number): string {
  const lines = ['spec:', `  a: &a [${Array(9).fill('"lol"').join(', ')}]`];
  const names = 'abcdefghij';
  for (let i = 1; i <= levels; i++) lines.push(`  ${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

test('aliases: go-yaml\'s expansion-ratio rule, not a count', () => {
  for (const count of [100, 101, 5000]) {
    const value = readOne(aliasFile(count)) as { spec: { items: unknown[] } };
    assert.equal(value.spec.items.length, count);
    assert.deepEqual(value.spec.items[count - 1], { x: 1 });
  }
  assert.deepEqual((readOne(laughs(2)) as { spec: { c: unknown[] } }).spec.c.length, 9, 'a small expansion is fine');
  for (const levels of [3, 9]) {
    const started = Date.now();
    assert.throws(() => readOne(laughs(levels)), /document contains excessive aliasing/);
    assert.ok(Date.now() - started < 2000, 'refused early, not after expanding');
  }
  assert.throws(() => readOne('a: &a [1, *a]\n'), /anchor 'a' value contains itself|Aliased anchor not found|unknown anchor/);
  assert.throws(() => readOne('a: *nowhere\n'), /anchor/);
  // An anchor name may be redefined: an alias refers to the latest definition before it.
  assert.deepEqual(readOne('a: &x 1\nb: *x\nc: &x 2\nd: *x\n'), { a: 1, b: 1, c: 2, d: 2 });
});

test('writing: a value Pillion prints reads back, for kubectl, as the same value', () => {
  const roundTrip = (value: unknown): unknown => {
    const doc = new Document({ v: value }, kubeParseOptions);
    return (readOne(doc.toString()) as { v: unknown }).v;
  };
  for (const s of ['yes', 'Y', 'on', 'off', '0400', '0o17', '0x1F', '1_0', '1_', '08', '1e3', '1.', '.5', '~', 'null', '', '<<', '1:20', '2002-12-14', '-', '- a', '#x', 'a: b', '.inf', '+.inf']) {
    assert.equal(roundTrip(s), s, `string ${JSON.stringify(s)}`);
  }
  for (const v of [true, false, null, 0, 256, -16, 0.5, 1e21, 9007199254740991]) assert.deepEqual(roundTrip(v), v, String(v));
  fc.assert(
    fc.property(fc.stringMatching(/^[-+.0-9a-fA-FxXoObB_:eE~yYnNtT ]{0,12}$/), (s) => assert.equal(roundTrip(s), s)),
    { numRuns: 2000, seed: 42 },
  );
  // A parsed scalar keeps its own text when the document is printed again.
  const parsed = parseStream('t.yaml', 'a: 0400\nb: yes\nc: ~\nd: 0x1F\ne: 1_000\nf: !!int "0400"\n').documents[0]!.doc;
  assert.equal(parsed.toString(), 'a: 0400\nb: yes\nc: ~\nd: 0x1F\ne: 1_000\nf: !!int 0400\n');
});

/** Files that end without a line break, and what kubectl 1.32 read (`kubectl annotate --local`, 2026-12-02). */
const endsWithoutLineBreak: readonly (readonly [string, string])[] = [
  ['z: |+\n  x\n  ', 'x\n\n'],
  ['z: |+\n  x\n ', 'x\n\n'],
  ['z: |+\n  x\n   ', 'x\n \n'],
  ['z: |+\n  x\n\n  ', 'x\n\n\n'],
  ['z: >+\n  x\n ', 'x\n\n'],
  ['z: |2+\n   x\n  ', ' x\n\n'],
  ['z: |+\n\n  ', '\n\n'],
  ['z: |+\n  x', 'x\n'],
  ['z: |\n  x\n  ', 'x\n'],
  ['z: |-\n  x', 'x'],
  ['z: x', 'x'],
];

test('a file without a final line break reads as kubectl reads it: as if it had one', () => {
  for (const [body, value] of endsWithoutLineBreak) assert.deepEqual(readOne(body), { z: value }, JSON.stringify(body));
  // The documents keep the file's bytes: no line break is added to what is written back.
  const stream = parseStream('t.yaml', 'a: 1\n---\nz: |+\n  x\n  ');
  assert.equal(stream.documents.map((d) => d.text).join(''), 'a: 1\n---\nz: |+\n  x\n  ');
});

// ---- the same expectations, checked against the kubectl on PATH ----

function kubectlBlocker(): string | undefined {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : 'needs kubectl on PATH (client only: kubectl annotate --local reads files offline)';
}

const header = 'apiVersion: example.com/v1\nkind: Probe\nmetadata:\n  name: probe\n';

/** kubectl's reading of `body` (one object); `error` when it refuses the file. */
function kubectlRead(dir: string, body: string): { value?: Record<string, unknown>; error?: string } {
  const file = join(dir, 'probe.yaml');
  writeFileSync(file, header + body);
  // --local: nothing is sent anywhere; an empty KUBECONFIG keeps any real cluster out of it.
  const run = spawnSync('kubectl', ['annotate', '--local', '-f', file, 'pillion.dev/probe=1', '-o', 'json'], {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: '/dev/null' },
  });
  if (run.status !== 0) return { error: run.stderr.trim() };
  const value = JSON.parse(run.stdout) as Record<string, unknown>;
  delete (value.metadata as Record<string, unknown>).annotations;
  return { value };
}

function pillionReadOrError(body: string): { value?: unknown; error?: string } {
  try {
    return { value: readOne(header + body) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

test('kubectl agrees: scalars, keys, merges and tags, fixed and generated', (t) => {
  const blocker = kubectlBlocker();
  if (blocker !== undefined) return skipOrFail(t, blocker);
  const dir = mkdtempSync(join(tmpdir(), `pillion-kubectl-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  // Generated plain scalars from the characters that make numbers, booleans and nulls.
  const generated = fc.sample(
    fc.array(fc.constantFrom('0', '1', '7', '8', '9', '00', '0x', '0X', '0o', '0b', '_', '.', 'e', 'E', '+', '-', '1:2', 'x', 'f', 'a', 'y', 'n', 'o'), {
      minLength: 1,
      maxLength: 5,
    }).map((parts) => parts.join('')),
    { numRuns: 600, seed: 7 },
  ).filter((s) => !/^-$|^-[ ]|:$/.test(s) && pillionReadOrError(`spec:\n  v: ${s}\n`).error === undefined);
  const scalars = [...new Set([...plainScalars.map(([s]) => s), ...generated])];
  // Keys that make the same JSON key (`0x1F` and `31`) collide in kubectl's Go map, in random order.
  const keysByJson = new Map<string, string>();
  for (const s of scalars) {
    if (s === '<<') continue;
    const read = pillionReadOrError(`spec:\n  ${s}: v\n`);
    const key = read.error === undefined ? Object.keys((read.value as { spec: object }).spec)[0] : undefined;
    if (key !== undefined && !keysByJson.has(key)) keysByJson.set(key, s);
  }
  const body = `spec:\n${scalars.map((s, i) => `  v${i}: ${s}`).join('\n')}\n  keys:\n${[...keysByJson.values()]
    .map((s, i) => `    ${s}: k${i}`)
    .join('\n')}\n`;
  const theirs = kubectlRead(dir, body);
  assert.equal(theirs.error, undefined, theirs.error);
  assert.deepEqual(pillionReadOrError(body).value, theirs.value);

  const documents = [
    'spec:\n  a: [!!int "0400", !!float 0x10, !foo 0400, ! yes, !!binary aGVsbG8=, !!str 0400, !!bool "true", !!set {a, b}, !!omap [a: 1]]\n',
    'x: &x {a: x, b: x}\nz: &z {a: z, c: z}\nspec:\n  <<: [*x, *z]\n  a: 1\n  <<: {a: late}\n  d: {"<<": 1}\n',
    'spec:\n  a: 1\n  a: 2\n  yes: 1\n  true: 2\n',
    aliasFile(100),
    aliasFile(5000),
    laughs(2),
    laughs(3),
    'spec:\n  v: .inf\n',
    'spec:\n  v: !!int 1.5\n',
    'spec:\n  ~: v\n',
    'spec:\n  18446744073709551615: v\n',
    'spec:\n  .inf: v\n  1e6: w\n  1.0: x\n',
    'spec:\n  <<: [1]\n',
    // Explicit keys: with `:` as usual; a sequence after `? key` without `:` is refused by both
    // (the yaml library alone would drop it silently).
    'spec:\n  ? a\n  - b\n',
    'spec:\n  ? a\n  : b\n',
    'spec:\n  ? a\n',
    'spec:\n  ? a\n  :\n  - b\n',
    '? x\n- y\nspec: 1\n',
    // `\/` is an escape of YAML 1.2 only: kubectl refuses it, and Pillion with it.
    'spec:\n  a: "\\/"\n',
    'spec:\n  a: "x\\\\/y"\n',
    'spec:\n  "k\\/": 1\n',
    'spec:\n  a: [1, "\\/"]\n',
    // `\'` is an escape of YAML 1.1 (go-yaml reads `'`), not of 1.2: the library refuses it, Pillion
    // reads it as kubectl does, in keys, values, flow collections and folded lines alike.
    'spec:\n  a: "it\\\'s"\n',
    'spec:\n  "k\\\'": "\\\\\\\'"\n',
    'spec:\n  a: ["\\\'", "\\\\\'"]\n',
    'spec:\n  a: "x\\\'\n    y \\\' \\x27\n\n    z"\n',
    'spec:\n  a: "\\\' \\/"\n',
    // In a flow collection YAML 1.1 ends a plain scalar at `?` and takes a leading `:` for an
    // indicator: kubectl refuses these (Pillion with it); quoted, or outside flow, they are text.
    'spec:\n  a: [http://x/y?z=1]\n',
    'spec:\n  a: {k: a?b}\n',
    'spec:\n  a: {k: :a}\n',
    'spec:\n  a: [a:b, "x?y", a?]\n',
    'spec:\n  a: [a:b, "x?y", \'c?\', {? y : z}]\n  b: x?y\n',
    // A tag with nothing after it in a flow collection: kubectl refuses these (Pillion with it).
    'spec:\n  a: [!a]\n',
    'spec:\n  a: [!a,b]\n',
    'spec:\n  a: {b: !a, c: d}\n',
    'spec:\n  a: [!!str 1, !!int "2", &x !!str c, *x]\n',
    // Half a surrogate pair is not a character: kubectl refuses the escape, even as two halves.
    'spec:\n  a: "\\ud800"\n',
    'spec:\n  a: "x\\uDFFF"\n',
    'spec:\n  a: "\\ud83d\\ude00"\n',
    'spec:\n  a: "\\U0000D800"\n',
    'spec:\n  a: ["\\uDC00"]\n',
    'spec:\n  a: "\\\\ud800 \\ud7ff \\ue000 \\U0001F600"\n',
    // Files without a final line break (kubectl reads them as if they had one).
    ...endsWithoutLineBreak.map(([body]) => body),
  ];
  for (const doc of documents) {
    const kube = kubectlRead(dir, doc);
    const ours = pillionReadOrError(doc);
    assert.equal(ours.error === undefined, kube.error === undefined, `accepted by one only:\n${doc.slice(0, 300)}\nkubectl: ${kube.error}\npillion: ${ours.error}`);
    if (kube.error === undefined) assert.deepEqual(ours.value, kube.value, doc.slice(0, 300));
  }
});

// Generated block documents, the kind most manifests are (and the kind injector/cli/block-reader.ts
// reads itself): trees of maps, sequences and scalars in kubectl-sensitive spellings, flush or
// indented sequences, compact `- key:` entries; spellings kubectl refuses (`.nan`, `\/`) are in the
// fixed cases above. One kubectl run reads them all as a List; should it refuse the file, each
// document is read alone to find which ones it refuses.
test('kubectl agrees: generated block documents', (t) => {
  const blocker = kubectlBlocker();
  if (blocker !== undefined) return skipOrFail(t, blocker);
  const dir = mkdtempSync(join(tmpdir(), `pillion-kubectl-block-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const scalar = fc.oneof(
    fc.constantFrom('x', 'nginx:1.27', 'http://a:80/b', '8080', '-1', '+1', '1.5', '1e3', '.5', '08', '0400', '0x1F', '0o17', '0b101', '1_000', '1__0', 'true', 'yes', 'Off', 'nO', 'TRUE', 'y', 'N', '~', 'null', 'NULL', '2002-12-14', '1:20', '-x', 'a:b', 'x#y', 'a,b', 'a b c', 'é', '{}', '[]', '"80"', "'a b'", "'it''s'", '"\\u00e9 \\"q\\""', '"a\\tb"', '"\\\\/"', '"\\x41"', '"\\e"', '"\\N"', '"\\_"', '"\\0"', '"a\\ b"', '"it\\\'s"', '"\\ud7ff"'),
    fc.stringMatching(/^[a-z][a-z0-9./_-]{0,8}$/),
  );
  const key = fc.constantFrom('name', 'value', 'k1', 'yes', 'on', 'Y', '0400', '0x10', '1.5', '"0400"', '"q k"', "'s k'", 'x y');
  const tree = fc.letrec<{ tree: Tree; collection: Tree }>((tie) => ({
    tree: fc.oneof({ depthSize: 'small' }, scalar, fc.constant(null), tie('collection')),
    collection: fc.oneof(
      fc.array(fc.tuple(key, tie('tree')), { minLength: 1, maxLength: 3 }).map((map) => ({ map })),
      fc.array(tie('tree'), { minLength: 1, maxLength: 3 }).map((seq) => ({ seq })),
    ),
  })).collection;
  const bodies = fc.sample(fc.tuple(tree, fc.boolean()), { numRuns: 200, seed: 11 }).map(([data, flush]) => {
    const out: string[] = [];
    printTree({ map: [['data', data]] }, 0, { step: 2, flush, compact: true, blanks: [false], comments: [false] }, out, '');
    return `${out.join('\n')}\n`;
  });
  const docs = bodies.map((body, i) => header.replace('name: probe', `name: probe-${i}`) + body);
  const file = join(dir, 'all.yaml');
  writeFileSync(file, docs.join('---\n'));
  const run = spawnSync('kubectl', ['annotate', '--local', '-f', file, 'pillion.dev/probe=1', '-o', 'json'], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: '/dev/null' } });
  const theirs: { value?: unknown; error?: string }[] =
    run.status === 0
      ? // One pretty-printed object after another, each from a `{` to a `}` at column 0.
        (JSON.parse(`[${run.stdout.replace(/^\}\n\{$/gm, '},\n{')}]`) as Record<string, Record<string, unknown>>[]).map((item) => {
          delete item.metadata?.annotations;
          return { value: item };
        })
      : bodies.map((body) => kubectlRead(dir, body));
  assert.equal(theirs.length, docs.length);
  docs.forEach((doc, i) => {
    const ours = pillionReadOrError(bodies[i] ?? '');
    const kube = theirs[i] ?? {};
    const name = { name: `probe-${i}` };
    // kubectlRead writes the shared header (name: probe): compare with the name each one had.
    const kubeValue = run.status === 0 ? kube.value : kube.value === undefined ? undefined : { ...(kube.value as Record<string, unknown>), metadata: name };
    const ourValue = ours.value === undefined ? undefined : { ...(ours.value as Record<string, unknown>), metadata: name };
    assert.equal(ours.error === undefined, kube.error === undefined, `accepted by one only:\n${doc}\nkubectl: ${kube.error}\npillion: ${ours.error}`);
    if (kube.error === undefined) assert.deepEqual(ourValue, kubeValue, doc);
  });
});
