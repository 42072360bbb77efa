// Integers past 2^53 keep the digits the manifest wrote wherever Pillion prints a value: a JSON
// manifest's injected body, `-o json` and a YAML document printed anew. kubectl sends every digit of an int64; a JS number has
// lost the last ones. Two input integers that read as the same JS number are an error, not a guess.
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringifyExact } from '../../../injector/cli/exact-integers.js';
import { injectManifests } from '../../../injector/cli/inject-manifest.js';
import { inject } from './read-back.js';
import { cliFixture } from './run-pillion.js';

const deployment = (extra: string): string => `{
  "apiVersion": "apps/v1",
  "kind": "Deployment",
  "metadata": {"name": "big", "generation": 9007199254740993${extra}},
  "spec": {"selector": {"matchLabels": {"app": "big"}}, "template": {"metadata": {"labels": {"app": "big"}}, "spec": {"containers": [{"name": "a", "image": "nginx", "ports": [{"containerPort": 8080}]}]}}}
}
`;
const yamlDeployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: big\n  generation: 0x20000000000001\nspec:\n  selector:\n    matchLabels: {app: big}\n  template:\n    metadata:\n      labels: {app: big}\n    spec:\n      containers: [{name: a, image: nginx}]\n';

const run = (text: string, output: 'yaml' | 'json'): ReturnType<typeof injectManifests> =>
  injectManifests([{ file: 'big', text }], { mode: 'candidate', namespace: undefined, output }, inject);

test('a JSON manifest: the injected body is JSON again, its integer past 2^53 with every digit', () => {
  const result = run(deployment(''), 'yaml');
  assert.ok(result.ok, JSON.stringify(result));
  assert.match(result.output, /^ {4}"generation": 9007199254740993$/m);
  assert.match(result.output, /"name": "pillion-proxy"/);
});

test('-o json: integers past 2^53 keep their digits, from YAML (0x20000000000001 and 9_007_199_254_740_993 are 9007199254740993) and from JSON', () => {
  for (const text of [yamlDeployment, yamlDeployment.replace('0x20000000000001', '9_007_199_254_740_993'), deployment('')]) {
    const result = run(text, 'json');
    assert.ok(result.ok, JSON.stringify(result));
    assert.match(result.output, /"generation": 9007199254740993\b/);
  }
});

test('a YAML document the yaml library cannot print back in its own styles is printed from the value, its integer past 2^53 with every digit', () => {
  // folded-reprint.yaml is printed anew: its folded scalars do not read back from yaml's printer.
  const text = readFileSync(cliFixture('folded-reprint.yaml'), 'utf8').replace(/^metadata:\n/m, 'metadata:\n  generation: 9_007_199_254_740_993\n');
  const result = run(text, 'yaml');
  assert.ok(result.ok, JSON.stringify(result));
  assert.match(result.output, /^ {2}generation: 9007199254740993$/m);
  assert.match(result.output, /name: pillion-proxy/);
});

test('two integers that read as one JS number: a problem naming both, where the first was read; nothing printed', () => {
  for (const output of ['yaml', 'json'] as const) {
    const result = run(deployment(', "observedGeneration": 9007199254740992'), output);
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.deepEqual(result.problems, [{
      file: 'big', document: 1, line: 4,
      message: 'the integers 9007199254740993 and 9007199254740992 read as one and the same number past 2^53, so Pillion cannot write both back exactly',
    }]);
  }
});

test('stringifyExact: without such integers it is JSON.stringify; with them, only numbers of that value change', () => {
  const value = { a: [1, 2.5, 'x'], b: { c: null } };
  assert.equal(stringifyExact(value, new Map(), 2), JSON.stringify(value, null, 2));
  const lossy = 2 ** 60 + 1;
  assert.equal(stringifyExact({ n: lossy, m: 7 }, new Map([[lossy, new Map([['1152921504606846977', { file: 'f', document: 1, line: 1 }]])]])), '{"n":1152921504606846977,"m":7}');
});
