// A JSON manifest read by JSON.parse and printed by JSON.stringify (json-reader.ts) gives exactly
// what the yaml library's reading gives: the same output bytes, reports and problems, in both
// modes and both output formats. The files: every corpus manifest written as JSON the ways kubectl
// and people write it, and values at the edges of JSON; where JSON.parse may read otherwise than
// kubectl, the quick reader must decline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { injectManifests, type ManifestInput } from '../../../injector/cli/inject-manifest.js';
import { decodeManifest } from '../../../injector/cli/input.js';
import { isExactJson } from '../../../injector/cli/json-reader.js';
import { parseStream, parseWithYaml } from '../../../injector/cli/stream.js';
import { uninjectPod } from '../../../injector/core/inject.js';
import { corpusFiles, requireSharedCorpusInCI } from '../../support/corpus.js';
import { inject } from './read-back.js';

/**
 * Both readings of `text` through the whole pipeline, for every mode and output: they must agree
 * to the byte. The quick one is given what decodeManifest read, as the CLI gives it.
 */
function assertSameAsYamlReading(label: string, text: string): void {
  const decoded = decodeManifest(Buffer.from(text, 'utf8'));
  const input: ManifestInput = decoded.ok ? { file: label, text: decoded.text, json: decoded.json } : { file: label, text };
  for (const output of ['yaml', 'json'] as const) {
    const options = { mode: 'candidate', namespace: undefined, output } as const;
    const quick = injectManifests([input], options, inject);
    const library = injectManifests([input], options, inject, parseWithYaml);
    assert.deepEqual(quick, library, `${label} (-o ${output}): the JSON reader's run differs from the yaml library's`);
    if (!quick.ok || output !== 'yaml') continue;
    // The injected file taken back out, by both readings.
    const injected: ManifestInput = { file: `${label} injected`, text: quick.output };
    const uninjected = (parse: typeof parseStream) => injectManifests([injected], options, (pod) => uninjectPod(pod), parse);
    assert.deepEqual(uninjected(parseStream), uninjected(parseWithYaml), `${label}: uninjecting its output`);
  }
}

/** The objects of a YAML manifest. */
function objectsOf(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => doc.toJS() as unknown).filter((value) => value !== null);
}

/** The ways a JSON manifest is written: `kubectl get -o json` (a List, 4 spaces), one line, 2 spaces with a BOM, CRLF, spaces around. */
function jsonLayouts(objects: readonly unknown[]): Record<string, string> {
  const list = { apiVersion: 'v1', kind: 'List', items: objects, metadata: { resourceVersion: '' } };
  const first = objects[0];
  return {
    'kubectl -o json List': `${JSON.stringify(list, null, 4)}\n`,
    'one line, no final line break': JSON.stringify(list),
    'one object, 2 spaces, byte order mark': `\uFEFF${JSON.stringify(first, null, 2)}\n`,
    'CRLF line breaks': `${JSON.stringify(list, null, 2).replace(/\n/g, '\r\n')}\r\n`,
    'one line, CRLF after': `${JSON.stringify(first)}\r\n`,
    'tabs, blank lines around': `\n\n${JSON.stringify(first, null, '\t')}\n\n  \n`,
  };
}

test('every corpus manifest as a JSON file: read by JSON.parse, and the same output, reports and problems as the yaml library gives', () => {
  requireSharedCorpusInCI();
  let files = 0;
  for (const file of corpusFiles().filter((name) => /\.ya?ml$/.test(name))) {
    const objects = objectsOf(file);
    if (objects.length === 0) continue;
    for (const [layout, text] of Object.entries(jsonLayouts(objects))) {
      const stream = parseStream(file, text);
      assert.notEqual(stream.documents[0]?.value, undefined, `${file} (${layout}): read by JSON.parse`);
      assertSameAsYamlReading(`${file} (${layout})`, text);
    }
    files++;
  }
  assert.ok(files >= 5, `${files} corpus files`);
});

const deployment = (podMetadata: string, extra = ''): string =>
  `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "edge"${extra}},
  "spec": {"selector": {"matchLabels": {"app": "edge"}}, "template": {"metadata": {"labels": {"app": "edge"}${podMetadata}},
  "spec": {"containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 8080}]}]}}}}
`;

test('values JSON.parse reads as kubectl does: taken by the JSON reader, and the same run as the yaml library gives', () => {
  const accepted: Record<string, string> = {
    'escapes (\\/, \\u00e9, a surrogate pair, \\n)': deployment(', "annotations": {"note": "a\\/b \\u00e9 \\ud83d\\ude00 x\\ny"}'),
    'a __proto__ key': deployment(', "annotations": {"__proto__": "data", "x": "y"}'),
    'numbers: 1.5, 1e3, 1.0, -7, 0': deployment('', ', "generation": 1e3, "x": [1.5, 1.0, -7, 0, 1E2]'),
    'spaces between keys and colons, nested empty values': deployment('', ', "labels" : { } , "x" :[ [ ] , { } , null , true , false ]'),
    'duplicate keys (the last one wins, for kubectl too)': deployment(', "annotations": {"a": "1", "a": "2"}'),
    'a non-ASCII key': deployment(', "annotations": {"exämple.com/ключ": "значение"}'),
  };
  for (const [label, text] of Object.entries(accepted)) {
    assert.notEqual(parseStream(label, text).documents[0]?.value, undefined, `${label}: read by JSON.parse`);
    assertSameAsYamlReading(label, text);
  }
});

test('where JSON.parse may read otherwise than kubectl, the JSON reader declines and the yaml library reads the file', () => {
  const declined: Record<string, string> = {
    'half a surrogate pair (kubectl: U+FFFD)': deployment(', "annotations": {"x": "a\\ud800b"}'),
    'half a surrogate pair in a key': deployment(', "annotations": {"\\udc00": "b"}'),
    'an integer past 2^53': deployment('', ', "generation": 9007199254740993'),
    '2^53 itself (it may stand for 2^53 + 1)': deployment('', ', "generation": 9007199254740992'),
    '-0': deployment('', ', "x": -0'),
    'a number out of range': deployment('', ', "x": 1e400'),
    'nested 600 deep': deployment('', `, "x": ${'['.repeat(600)}${']'.repeat(600)}`),
  };
  for (const [label, text] of Object.entries(declined)) {
    assert.equal(isExactJson(JSON.parse(text)), false, `${label}: declined`);
    assert.equal(parseStream(label, text).documents[0]?.value, undefined, `${label}: not read by JSON.parse`);
    assertSameAsYamlReading(label, text);
  }
});

test('a problem in a JSON file read by JSON.parse is placed by the yaml library, read only then: the same file, document and line', () => {
  const text = deployment(', "annotations": {\n  "pillion.dev/inject": "maybe"}');
  assert.notEqual(parseStream('bad', text).documents[0]?.value, undefined);
  const result = injectManifests([{ file: 'bad', text }], { mode: 'candidate', namespace: undefined, output: 'yaml' }, inject);
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  assert.equal(result.problems.length, 1);
  assert.deepEqual({ ...result.problems[0], message: undefined }, { file: 'bad', document: 1, line: 3, message: undefined });
  assertSameAsYamlReading('bad', text);
});

test('isExactJson: what JSON.stringify writes so that kubectl reads back the same value', () => {
  for (const value of [{ a: [1, 2.5, 'é😀', null, true, { b: {} }] }, [], 'x', 2 ** 53 - 1, -(2 ** 53 - 1)]) assert.equal(isExactJson(value), true, JSON.stringify(value));
  for (const value of [{ a: undefined }, [Number.NaN], { a: Infinity }, -0, 2 ** 53, '\ud800', { '\udfff': 1 }, { f: () => 1 }, new Date(0)]) {
    assert.equal(isExactJson(value), false, typeof value === 'object' ? Object.prototype.toString.call(value) : typeof value);
  }
});

test('a JSON file is parsed once: the document holds the value decodeManifest read; a YAML file has none', () => {
  const text = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "nginx"}]}}\n';
  const decoded = decodeManifest(Buffer.from(text, 'utf8'));
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.json, [{ start: 0, value: JSON.parse(text) as unknown }]);
  assert.equal(parseStream('p.json', decoded.text, decoded.json).documents[0]?.value, decoded.json?.[0]?.value);
  const yaml = decodeManifest(Buffer.from('kind: Pod\n', 'utf8'));
  assert.ok(yaml.ok);
  assert.equal(yaml.json, undefined);
});
