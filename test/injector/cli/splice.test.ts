// The splice (injector/cli/splice.ts): an injected document is its own bytes plus the printed new
// entries. Shown on generated manifests in the layouts people write (indentation steps, flush or
// indented sequences, comments between entries, CRLF, existing init containers and volumes):
// every input line is still there, in order, and the output reads back, as kubectl reads it,
// as exactly the value `-o json` gives; inject then uninject gives back the corpus's files byte
// for byte. The shapes it must leave to the whole-document printer return undefined.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import fc from 'fast-check';
import { injectManifests } from '../../../injector/cli/inject-manifest.js';
import { toKubeValue } from '../../../injector/cli/kube-yaml.js';
import { spliceDocument } from '../../../injector/cli/splice.js';
import { parseStream } from '../../../injector/cli/stream.js';
import { injectPod, uninjectPod } from '../../../injector/core/inject.js';
import type { JsonObject } from '../../../injector/core/types.js';
import { corpusFiles, requireSharedCorpusInCI, sharedCorpusDir } from '../../support/corpus.js';
import { cliSetup, inject, injectAndReadBack } from './read-back.js';

const style = { step: 2, indentSeq: false, lineBreak: '\n' } as const;

/** The YAML output of one file, which must read back as its `-o json` output. */
function injectBoth(text: string): string {
  return injectAndReadBack(text, [{ file: 'in.yaml', text }]).output;
}

/** Whether every line of `input` appears in `output` in the same order (nothing of the user's was rewritten). */
function keepsEveryLine(input: string, output: string): boolean {
  const out = output.split('\n');
  let at = 0;
  for (const line of input.split('\n')) {
    while (at < out.length && out[at] !== line) at++;
    if (at === out.length) return false;
    at++;
  }
  return true;
}

const lf = (text: string): string => text.replace(/\r\n/g, '\n');

/** The splice of the one document in `text`, or undefined. */
function spliceOf(text: string, crlf = false): string | undefined {
  const item = parseStream('in.yaml', text).documents[0];
  assert.ok(item !== undefined);
  const before = toKubeValue(item.doc) as JsonObject;
  const result = injectPod(before, { namespace: 'default', namespaceLabels: undefined, mode: 'candidate', nativeSidecarsInUse: false }, cliSetup);
  assert.equal(result.kind, 'injected');
  return spliceDocument(item.text, item.offset, item.doc.contents, before, result.kind === 'injected' ? result.pod : before, crlf ? { ...style, lineBreak: '\r\n' } : style);
}

const podHead = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    pillion.dev/inject: "true"\n';

test('the shapes the splice leaves to the whole-document printer', () => {
  const cases: Record<string, string> = {
    'a flow root': `{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: app, image: a}]}}\n`,
    'an explicit key': `${podHead}? spec\n: containers:\n  - name: app\n    image: a\n`,
    'a key twice': `${podHead}spec:\n  containers:\n  - name: app\n    image: a\n  containers:\n  - name: app\n    image: b\n`,
    'an item inserted under a comment': `${podHead}spec:\n  initContainers:\n  # the migration runs first\n  - name: migrate\n    image: m\n  containers:\n  - name: app\n    image: a\n`,
  };
  for (const [what, text] of Object.entries(cases)) {
    assert.equal(spliceOf(text), undefined, what);
    // The whole-document printer takes over, and the output still means the injected pod.
    injectBoth(text);
  }
});

test('a pod in the usual layout is spliced: every input line kept, the new entries inserted', () => {
  const text = `${podHead}spec:   # the pod\n  containers:\n  - name: app     # odd spacing kept\n    image: "a"\n\n  # volumes below\n  volumes:\n  - name: data\n    emptyDir: {}\n`;
  const spliced = spliceOf(text);
  assert.ok(spliced !== undefined);
  assert.ok(keepsEveryLine(text, spliced), spliced);
  assert.equal(injectBoth(text), spliced);
  assert.match(spliced, /^ {2}- name: data\n {4}emptyDir: \{\}\n {2}- name: pillion-init-run\n/m);
});

test('entries inserted after keep-chomped block scalars and multi-line flow values: every line kept, same value', () => {
  const cases = [
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: a\n    args:\n    - |+\n      hello\n\n\n  dnsPolicy: ClusterFirst\n`,
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    a: |+\n      x\n\nspec:\n  containers:\n  - name: app\n    image: a\n    args:\n    - >+\n      hello\n\n    # c\n`,
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: a\n    command: ["a",\n      "b"]\n`,
    // The last entry empty, then a file whose last line has no line break (CRLF too).
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: ~\nspec:\n  initContainers: []\n  containers:\n  - name: app\n    image: a\n  volumes:\n`,
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: a`,
    `apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  containers:\r\n  - name: app\r\n    image: a`,
  ];
  for (const text of cases) {
    const crlf = text.includes('\r\n');
    const spliced = spliceOf(text, crlf);
    assert.ok(spliced !== undefined && keepsEveryLine(lf(text).replace(/: (~|\[\])\n/g, ':\n'), lf(spliced)), text);
    assert.equal(injectBoth(text), spliced);
    assert.equal(spliced.endsWith('\n'), text.endsWith('\n'), 'a missing final line break stays missing');
    if (crlf) assert.ok(!/[^\r]\n/.test(spliced), 'CRLF throughout');
  }
});

// ---- generated manifests ----

interface Layout {
  readonly step: number;
  readonly flush: boolean;
  readonly crlf: boolean;
  readonly comments: readonly boolean[];
  readonly initContainers: boolean;
  readonly volumes: boolean;
  readonly annotations: boolean;
  readonly kind: 'Pod' | 'Deployment';
}

/** A manifest written by hand in `layout`: lines built directly, so the layout is the author's, not a printer's. */
function manifest(layout: Layout): string {
  const pad = (level: number): string => ' '.repeat(level * layout.step);
  let n = 0;
  const comment = (): string => (layout.comments[n++ % layout.comments.length] === true ? '   # note' : '');
  const lines: string[] = [];
  const seq = (level: number): number => (layout.flush ? level : level + 1);
  const podAt = (level: number): void => {
    lines.push(`${pad(level)}metadata:${comment()}`);
    lines.push(`${pad(level + 1)}labels:`, `${pad(level + 2)}app: web`);
    if (layout.annotations) lines.push(`${pad(level + 1)}annotations:`, `${pad(level + 2)}example.com/owner: team-a${comment()}`);
    lines.push(`${pad(level)}spec:`);
    if (layout.initContainers) {
      lines.push(`${pad(level + 1)}initContainers:`, `${pad(seq(level + 1))}- name: migrate${comment()}`, `${pad(seq(level + 1))}  image: m`);
    }
    lines.push(`${pad(level + 1)}containers:`, `${pad(seq(level + 1))}- name: app`, `${pad(seq(level + 1))}  image: registry.example/app:1${comment()}`);
    lines.push(`${pad(seq(level + 1))}  env:`, `${pad(seq(seq(level + 1) + 1))}- name: MODE`, `${pad(seq(seq(level + 1) + 1))}  value: "on"`);
    if (layout.volumes) lines.push(`${pad(level + 1)}volumes:`, `${pad(seq(level + 1))}- name: data`, `${pad(seq(level + 1))}  emptyDir: {}`);
  };
  if (layout.kind === 'Pod') {
    lines.push('apiVersion: v1', 'kind: Pod');
    podAt(0);
    lines.splice(3, 0, `${pad(1)}name: web`);
  } else {
    lines.push('apiVersion: apps/v1', 'kind: Deployment', 'metadata:', `${pad(1)}name: web`, 'spec:', `${pad(1)}selector:`, `${pad(2)}matchLabels:`, `${pad(3)}app: web`, `${pad(1)}template:`);
    podAt(2);
  }
  const text = `${lines.join('\n')}\n`;
  return layout.crlf ? text.replace(/\n/g, '\r\n') : text;
}

test('generated hand-written layouts: spliced, every input line kept, and the output reads back as -o json', () => {
  const layout = fc.record({
    step: fc.integer({ min: 2, max: 4 }),
    flush: fc.boolean(),
    crlf: fc.boolean(),
    comments: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
    initContainers: fc.boolean(),
    volumes: fc.boolean(),
    annotations: fc.boolean(),
    kind: fc.constantFrom('Pod' as const, 'Deployment' as const),
  });
  let spliced = 0;
  fc.assert(
    fc.property(layout, (l) => {
      // Candidate mode: every generated workload is injected.
      const text = manifest(l);
      const output = injectBoth(text);
      assert.match(output, /- name: pillion-proxy/);
      assert.ok(keepsEveryLine(lf(text), lf(output)), `every input line kept:\n${output}`);
      if (l.crlf) assert.ok(!/[^\r]\n/.test(output), 'CRLF throughout');
      spliced++;
    }),
    { numRuns: 120, seed: 7 },
  );
  assert.equal(spliced, 120);
});

test('inject then uninject gives back every corpus manifest byte for byte, but for JSON and flow-style workloads', (t) => {
  const shared = requireSharedCorpusInCI();
  if (!shared) t.diagnostic(`the shared corpus ${sharedCorpusDir} is missing: only the project's own corpus is read`);
  // Written as JSON or in flow style: those documents are printed again when changed.
  const printedAgain = new Set(['kubernetes-examples-guestbook-controller.json', 'k8s-website-init-containers-flow.yaml', 'k8s-website-indexed-job-vol.yaml']);
  const options = { mode: 'candidate', namespace: undefined, output: 'yaml' } as const;
  let same = 0;
  for (const file of corpusFiles()) {
    const name = basename(file);
    const text = readFileSync(file, 'utf8');
    const injected = injectManifests([{ file: name, text }], options, inject);
    if (!injected.ok || !injected.reports.some((r) => r.decision === 'injected')) continue;
    const removed = injectManifests([{ file: name, text: injected.output }], options, uninjectPod);
    assert.ok(removed.ok, name);
    if (printedAgain.has(name)) assert.notEqual(removed.output, text, `${name} is no longer printed again: take it off the list`);
    else {
      assert.equal(removed.output, text, name);
      same++;
    }
  }
  // The project's own corpus alone has 10 manifests that inject.
  assert.ok(same >= (shared ? 15 : 8), `${same} manifests came back byte for byte`);
});
