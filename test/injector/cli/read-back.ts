// The check the YAML output of `pillion inject` is held to, shared by rewrite.test.ts and
// splice.test.ts: the same input injected to YAML and to `-o json`, the YAML read back as kubectl
// reads it, and the two required to be exactly the same objects.
import assert from 'node:assert/strict';
import { flattenForJson, injectManifests } from '../../../injector/cli/inject-manifest.js';
import type { ManifestInput } from '../../../injector/cli/inject-manifest.js';
import { toKubeValue } from '../../../injector/cli/kube-yaml.js';
import { buildSetup } from '../../../injector/cli/setup.js';
import { parseStream } from '../../../injector/cli/stream.js';
import { injectPod } from '../../../injector/core/inject.js';
import type { JsonObject } from '../../../injector/core/types.js';

export const cliSetup = buildSetup({ kubeVersion: undefined });
export const inject = (pod: JsonObject, ctx: Parameters<typeof injectPod>[1]): ReturnType<typeof injectPod> => injectPod(pod, ctx, cliSetup);

/** The objects of a YAML stream as kubectl reads them, Lists flattened as `-o json` flattens them. */
function readAsKubectl(file: string, text: string): unknown[] {
  const stream = parseStream(file, text);
  const values: unknown[] = [];
  for (const item of stream.documents) {
    assert.deepEqual(item.doc.errors.map((e) => e.message), [], `${file}: output document ${item.index} parses`);
    const value = toKubeValue(item.doc);
    // -o json leaves out empty documents, as the pipeline does.
    if (value !== null && value !== undefined) flattenForJson(value, values);
  }
  return values;
}

/**
 * Injects `inputs` (candidate mode) to YAML and to JSON; the YAML must read back as exactly the
 * JSON. Returns the YAML output and how many workloads were injected.
 */
export function injectAndReadBack(label: string, inputs: readonly ManifestInput[]): { readonly output: string; readonly injected: number } {
  const options = { mode: 'candidate', namespace: undefined } as const;
  const yamlRun = injectManifests(inputs, { ...options, output: 'yaml' }, inject);
  const jsonRun = injectManifests(inputs, { ...options, output: 'json' }, inject);
  assert.ok(yamlRun.ok, `${label}: ${JSON.stringify(yamlRun.ok ? [] : yamlRun.problems)}`);
  assert.ok(jsonRun.ok, `${label}: -o json`);
  const expected = (JSON.parse(jsonRun.output) as { items: unknown[] }).items;
  assert.deepEqual(readAsKubectl(label, yamlRun.output), expected, `${label}: the YAML output reads back as the JSON output:\n${yamlRun.output}`);
  return { output: yamlRun.output, injected: yamlRun.reports.filter((r) => r.decision === 'injected').length };
}
