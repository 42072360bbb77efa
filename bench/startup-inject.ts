// Manifest rows of bench/startup.ts: `pillion inject -f FILE` against
// `istioctl kube-inject -f FILE` given the injector's config, values and mesh config from Istio's
// own `istioctl manifest generate` (bench/peers/istio.ts), and `--revision default`: without a
// revision, kube-inject asks the cluster for its default revision (RevisionOrDefault starts an
// informer and waits for it to sync, forever when no API server answers). With `kubeconfig`, it is
// run that way instead, against the kube-apiserver peer: what a user with a cluster waits for.
// Output goes to a file, and the warm-up run of each is checked: every Deployment's pod template
// carries the tool's status annotation.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { InjectFiles } from './peers/istio.js';
import type { Workload } from './peers/workloads.js';
import { pillionProgram, type Contestant } from './startup-runs.js';

export interface InjectRow {
  readonly key: string;
  readonly label: string;
  readonly contestants: Contestant<unknown>[];
  readonly commands: { pillion: string; istio: string };
}

function countInjected(file: string, statusAnnotation: string): number {
  const text = readFileSync(file, 'utf8');
  // A YAML key, or a JSON one (a JSON manifest's injected output is JSON).
  return (text.match(new RegExp(`^\\s*("?)${statusAnnotation.replace(/[./]/g, '\\$&')}\\1:`, 'gm')) ?? []).length;
}

/** With `baselineRoot` (another checkout with dist/ built) its pillion runs as `pillion-before` in the same rounds. */
export function injectRow(w: Workload, nodeBin: string, pillionRoot: string, istioctl: string, files: InjectFiles, sink: string, kubeconfig?: string, baselineRoot?: string): InjectRow {
  const pillion = pillionProgram(pillionRoot, 'pillion');
  const cluster = kubeconfig === undefined ? ['--revision', 'default'] : ['--kubeconfig', kubeconfig];
  const istioArgs = ['kube-inject', '-f', w.file, '--injectConfigFile', files.injectConfigFile, '--valuesFile', files.valuesFile, '--meshConfigFile', files.meshConfigFile, ...cluster];
  const checked = (name: string, statusAnnotation: string) => (_: unknown, first: boolean): void => {
    if (!first) return;
    const n = countInjected(sink, statusAnnotation);
    if (n !== w.deployments) throw new Error(`${name} injected ${n} of ${w.deployments} Deployments in ${w.file} (output in ${sink})`);
  };
  return {
    key: `inject-${w.key}${kubeconfig === undefined ? '' : '-apiserver'}`,
    label: kubeconfig === undefined ? w.label : `${w.label}, istioctl reaching the local API server`,
    contestants: [
      { name: 'pillion', prepare: () => undefined, argv: () => [nodeBin, pillion, 'inject', '-f', w.file], finish: checked('pillion inject', 'pillion.dev/status') },
      ...(baselineRoot === undefined
        ? []
        : [{ name: 'pillion-before', prepare: () => undefined, argv: () => [nodeBin, pillionProgram(baselineRoot, 'pillion'), 'inject', '-f', w.file], finish: checked('pillion inject (before)', 'pillion.dev/status') }]),
      { name: 'istio', prepare: () => undefined, argv: () => [istioctl, ...istioArgs], finish: checked('istioctl kube-inject', 'sidecar.istio.io/status') },
    ],
    commands: {
      pillion: `pillion inject -f ${basename(w.file)}`,
      istio: `istioctl kube-inject -f ${basename(w.file)} --injectConfigFile inject-config.yaml --valuesFile values.json --meshConfigFile mesh.yaml ${kubeconfig === undefined ? '--revision default' : '--kubeconfig KUBECONFIG'}`,
    },
  };
}
