// Real public manifests (test/corpus/manifests, cited in test/corpus/SOURCES.md, and the Istio
// samples of ../shared/corpus/manifests when present) through `pillion inject`, checked with tools
// other than Pillion's own:
// - inject exits 0 and reports every workload injected or skipped with a reason;
// - re-injecting the output changes no byte;
// - kubectl (the Go YAML 1.1 reader, offline: `annotate --local`) reads Pillion's YAML output as
//   the very objects Pillion's `-o json` prints;
// - with exactly what Pillion adds taken away (the containers, init containers, volumes,
//   annotations and labels that pillion.dev/status lists, and that annotation), kubectl reads the
//   output as it reads the input: every value Pillion did not touch reads identically;
// - `pillion uninject` of the output gives the input's objects;
// - a real kube-apiserver accepts every injected workload with server-side dry run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pillionBin } from '../../test/support/paths.js';
import { requireKubectl } from '../../test/deploy/support/manifests.js';
import { corpusFiles } from '../../test/support/corpus.js';
import { requireControlPlaneBinaries, startControlPlane } from '../support/control-plane.js';

type Json = Record<string, unknown>;

interface ReportEntry {
  file: string;
  kind: string;
  namespace: string;
  name: string;
  decision: string;
  reason: string | null;
}

interface PillionStatus {
  containers?: string[];
  initContainers?: string[];
  volumes?: string[];
  annotations?: string[];
  labels?: string[];
}

const statusKey = 'pillion.dev/status';
const probeAnnotation = 'pillion-corpus.test/read';

function run(argv: readonly string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: '/dev/null' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function pillion(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  return run([process.execPath, pillionBin, ...args]);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The objects of a List (recursively), or the object itself. */
function flatten(value: unknown): Json[] {
  if (!isObject(value)) return [];
  if (value.kind === 'List' && Array.isArray(value.items)) return value.items.flatMap(flatten);
  return [value];
}

/** kubectl's reading of a manifest file, offline; its probe annotation taken away again. */
function kubectlRead(kubectl: string, file: string): Json[] {
  const result = run([kubectl, 'annotate', '--local', '-f', file, `${probeAnnotation}=x`, '-o', 'json']);
  assert.equal(result.status, 0, `kubectl reads ${file}: ${result.stderr}`);
  // One JSON document per object, each starting at column 0.
  const objects = result.stdout.split(/\n(?=\{)/).filter((text) => text.trim() !== '').flatMap((text) => flatten(JSON.parse(text)));
  for (const obj of objects) {
    const metadata = obj.metadata as Json;
    const annotations = metadata.annotations as Record<string, string>;
    delete annotations[probeAnnotation];
    if (Object.keys(annotations).length === 0) delete metadata.annotations;
  }
  return objects;
}

/** The pod template (or the Pod itself) whose metadata and spec the injection changes. */
function podOf(obj: Json): { metadata?: Json; spec?: Json } | undefined {
  const spec = obj.spec as Json | undefined;
  if (spec === undefined) return undefined;
  if (obj.kind === 'Pod') return obj;
  if (isObject(spec.template)) return spec.template;
  const jobTemplate = spec.jobTemplate as Json | undefined;
  const jobSpec = jobTemplate?.spec as Json | undefined;
  if (isObject(jobSpec?.template)) return jobSpec.template;
  return undefined;
}

function statusOf(obj: Json): PillionStatus | undefined {
  const annotations = podOf(obj)?.metadata?.annotations as Record<string, string> | undefined;
  const text = annotations?.[statusKey];
  return text === undefined ? undefined : JSON.parse(text) as PillionStatus;
}

/** A copy of `obj` with exactly what pillion.dev/status says Pillion added taken away. */
function withoutInjection(obj: Json): Json {
  const copy = structuredClone(obj);
  const status = statusOf(copy);
  if (status === undefined) return copy;
  const pod = podOf(copy)!;
  const spec = pod.spec!;
  const drop = (field: string, names: readonly string[] = []): void => {
    const list = spec[field];
    if (!Array.isArray(list)) return;
    const kept = (list as Json[]).filter((item) => !names.includes(item.name as string));
    if (kept.length === 0) delete spec[field];
    else spec[field] = kept;
  };
  drop('containers', status.containers);
  drop('initContainers', status.initContainers);
  drop('volumes', status.volumes);
  const metadata = pod.metadata!;
  const strip = (field: string, keys: readonly string[]): void => {
    const map = metadata[field] as Record<string, string> | undefined;
    if (map === undefined) return;
    for (const key of keys) delete map[key];
    if (Object.keys(map).length === 0) delete metadata[field];
  };
  strip('annotations', [...(status.annotations ?? []), statusKey]);
  strip('labels', status.labels ?? []);
  if (Object.keys(metadata).length === 0) delete pod.metadata;
  return copy;
}

interface FileOutcome {
  file: string;
  injected: Json[];
  skipped: ReportEntry[];
  inputWorkloads: Json[];
}

function checkFile(kubectl: string, file: string, scratch: string): FileOutcome {
  const name = basename(file);
  const injectedRun = pillion(['inject', '-f', file, '--report', 'json']);
  assert.equal(injectedRun.status, 0, `${name}: pillion inject: ${injectedRun.stderr}`);
  const report = JSON.parse(injectedRun.stderr) as ReportEntry[];
  for (const entry of report) {
    assert.ok(entry.decision === 'injected' || (entry.decision === 'skipped' && entry.reason !== null),
      `${name}: ${entry.kind}/${entry.name} is neither injected nor skipped with a reason: ${JSON.stringify(entry)}`);
  }
  const output = join(scratch, `${name}.injected.yaml`);
  writeFileSync(output, injectedRun.stdout);
  // A CRLF file stays CRLF: no line of the output ends in a bare LF.
  if (readFileSync(file, 'utf8').includes('\r\n')) {
    assert.doesNotMatch(injectedRun.stdout, /(^|[^\r])\n/, `${name}: CRLF input, but the output has bare LF line ends`);
  }

  const again = pillion(['inject', '-f', output]);
  assert.equal(again.status, 0, `${name}: re-inject: ${again.stderr}`);
  assert.ok(again.stdout === injectedRun.stdout, `${name}: re-injecting the output changed it`);

  const asJson = pillion(['inject', '-f', file, '-o', 'json']);
  assert.equal(asJson.status, 0, `${name}: pillion inject -o json: ${asJson.stderr}`);
  const pillionObjects = flatten(JSON.parse(asJson.stdout));
  const againJson = pillion(['inject', '-f', output, '-o', 'json']);
  assert.equal(againJson.status, 0, `${name}: pillion inject -o json of the output: ${againJson.stderr}`);
  assert.deepEqual(flatten(JSON.parse(againJson.stdout)), pillionObjects, `${name}: -o json of the output differs from -o json of the input`);

  const inputObjects = kubectlRead(kubectl, file);
  const outputObjects = kubectlRead(kubectl, output);
  assert.deepEqual(outputObjects, pillionObjects, `${name}: kubectl reads Pillion's YAML output other than Pillion's -o json`);
  assert.equal(outputObjects.length, inputObjects.length, `${name}: object count`);
  outputObjects.forEach((obj, i) => {
    assert.deepEqual(withoutInjection(obj), inputObjects[i], `${name}: object ${i} (${String(obj.kind)}) reads differently apart from what Pillion adds`);
  });

  const uninjected = pillion(['uninject', '-f', output, '-o', 'json']);
  assert.equal(uninjected.status, 0, `${name}: pillion uninject: ${uninjected.stderr}`);
  assert.deepEqual(flatten(JSON.parse(uninjected.stdout)), inputObjects, `${name}: uninject does not give the input back`);

  const injected = outputObjects.filter((obj) => statusOf(obj) !== undefined);
  const injectedCount = report.filter((entry) => entry.decision === 'injected').length;
  assert.equal(injected.length, injectedCount, `${name}: workloads carrying ${statusKey} vs. the report`);
  const inputWorkloads = inputObjects.filter((_, i) => statusOf(outputObjects[i]!) !== undefined);
  return { file: name, injected, skipped: report.filter((entry) => entry.decision === 'skipped'), inputWorkloads };
}

test('real public manifests: inject, re-inject, read back, uninject, and a real API server accepts them', { timeout: 600_000 }, async (t) => {
  const kubectl = requireKubectl(t);
  if (kubectl === undefined) return;
  const files = corpusFiles();
  assert.ok(files.length >= 12, `corpus has ${files.length} files`);
  const scratch = mkdtempSync(join(tmpdir(), 'pillion-corpus-'));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));

  const outcomes: FileOutcome[] = [];
  for (const file of files) {
    await t.test(basename(file), () => {
      outcomes.push(checkFile(kubectl, file, scratch));
    });
  }
  const injectedTotal = outcomes.reduce((n, o) => n + o.injected.length, 0);
  const skippedTotal = outcomes.reduce((n, o) => n + o.skipped.length, 0);
  console.error(`# corpus: ${files.length} files, ${injectedTotal} workloads injected, ${skippedTotal} skipped`);
  for (const o of outcomes) {
    for (const s of o.skipped) console.error(`#   skipped ${o.file}: ${s.kind}/${s.name} (${String(s.reason)})`);
  }
  assert.ok(injectedTotal > 0);

  await t.test('kube-apiserver accepts every injected workload (server-side dry run)', async (t2) => {
    const bin = requireControlPlaneBinaries(t2);
    if (bin === undefined) return;
    const cp = await startControlPlane(bin, kubectl);
    t2.after(() => cp.stop());
    const namespaceOf = (obj: Json): string => ((obj.metadata as Json).namespace as string | undefined) ?? 'default';
    cp.createServiceAccounts(outcomes.flatMap((o) => o.injected.map((obj) => ({
      namespace: namespaceOf(obj),
      name: (podOf(obj)?.spec?.serviceAccountName as string | undefined) ?? 'default',
    }))));

    let accepted = 0;
    let inputRefused = 0;
    const refused: string[] = [];
    for (const o of outcomes) {
      o.injected.forEach((obj, i) => {
        const what = `${o.file}: ${String(obj.kind)} ${namespaceOf(obj)}/${String((obj.metadata as Json).name)}`;
        const result = cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(obj) });
        if (result.status === 0) {
          accepted += 1;
          return;
        }
        // Say whether the source itself is refused too (then the manifest, not Pillion, is at fault).
        const source = cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(o.inputWorkloads[i]) });
        if (source.status !== 0) inputRefused += 1;
        refused.push(`${what}${source.status === 0 ? '' : ' (its input is refused too)'}: ${result.stderr.trim()}`);
      });
    }
    console.error(`# dry run: ${accepted} of ${injectedTotal} injected workloads accepted by kube-apiserver` +
      `${inputRefused === 0 ? '' : `, ${inputRefused} refused whose input is refused too`}`);
    assert.deepEqual(refused, [], 'kube-apiserver refused injected workloads');
  });
});
