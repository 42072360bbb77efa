// Benchmark: what pillion-cni adds to a pod's sandbox creation, in ONE run, against the two
// things it should be compared with:
//   node -e 0              : Node's own start-up (the floor of any Node program)
//   bridge ADD             : Debian's bridge + host-local ADD (the primary plugin's work), via
//                            `ip netns exec NODE` as in the tests; `ip netns exec NODE true` is
//                            timed too and subtracted
//   pillion-cni not meshed : the executable's ADD for a pod whose annotations (passed by the
//                            runtime) do not ask for capture: parse, decide, pass through
//   pillion-cni meshed     : ADD that programs IPv4 + IPv6 in a dual-stack pod (DEL in between,
//                            untimed, so every ADD really installs)
//   meshed (before)        : with --baseline EXE, another pillion-cni executable (e.g. built
//                            from the commit before a change) does the same meshed ADD in the
//                            same rounds
//   with the API server  : when Istio's peers (scripts/get-istio.sh) and the kube-apiserver peer
//                          are built, two more rows against the same API server, each ADD in a
//                          fresh dual-stack pod: pillion-cni reading the pod from the API server
//                          (no runtime annotations), and Istio's istio-cni (sidecar mode, which
//                          always reads the pod from the API server) capturing the same way
//                          (bench/peers/istio-cni.ts); every ADD must leave both families captured
// Aims (issue 9): not meshed <= node start-up + 10 ms; meshed <= node start-up + 3 x bridge ADD.
// Goal (issue 11): pillion-cni's capture <= 1.0x istio-cni's.
//
//   npm run build:cni && node dist/bench/cni-add.js [repetitions] [--baseline EXE]   # as root
//
// Everything runs in namespaces the benchmark creates (one plays the node) and removes again.
// Medians with min-max ranges on stdout; JSON in bench/results/.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../test/support/paths.js';
import { inNamespace } from '../e2e/support/netns.js';
import { runCni, systemPath } from '../e2e/cni/support/cni-runner.js';
import { startCniNode, type CniNode, type CniPod } from '../e2e/cni/support/node-chain.js';
import { ensureSeaBuilt } from '../e2e/cni/support/plugin-executable.js';
import { meshedAnnotations, pluginConfig } from '../e2e/cni/support/plugin-env.js';
import { median } from './stats.js';
import { findIstio } from './peers/istio.js';
import { prepareIstioCni, type IstioCniSetup } from './peers/istio-cni.js';
import { capturedFamilies } from '../e2e/support/iptables.js';
import { builtPeer } from '../test/support/peers.js';
import { startCniCluster, type CniCluster } from '../e2e/cni/support/cluster.js';
import { findOnPath } from '../test/deploy/support/manifests.js';

const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--baseline');
const reps = Number(positional[0] ?? '15');
const baselineAt = process.argv.indexOf('--baseline');
const baseline = baselineAt >= 0 ? process.argv[baselineAt + 1] : undefined;

interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function stats(xs: readonly number[]): Stats {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** Wall time of one synchronous run of argv with env and stdin; it must succeed. */
function timeOnce(argv: readonly string[], env: NodeJS.ProcessEnv, input = ''): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { env, input, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return ms;
}

function cniEnv(command: string, pod: CniPod, args = ''): NodeJS.ProcessEnv {
  return { PATH: systemPath, CNI_COMMAND: command, CNI_CONTAINERID: pod.containerId, CNI_NETNS: pod.netnsPath, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', CNI_ARGS: args };
}

/** The API server rows' parts, or why they are left out. */
interface ApiRows {
  readonly cluster: CniCluster;
  readonly istioCni: string;
  readonly istio: IstioCniSetup;
  readonly pillionConfig: (pod: CniPod) => string;
  readonly version: string;
}

async function startApiRows(): Promise<ApiRows | string> {
  const istio = findIstio();
  if (typeof istio === 'string') return istio;
  const apiserver = builtPeer('get-kube-apiserver.sh');
  if (apiserver === undefined) return 'the kube-apiserver peer is not built (scripts/get-kube-apiserver.sh)';
  const kubectl = findOnPath('kubectl');
  if (kubectl === undefined) return 'kubectl is not on PATH';
  const cluster = await startCniCluster(apiserver, kubectl, ['shop']);
  try {
    cluster.createPod('shop', 'web', meshedAnnotations);
    // Both plugins talk to the API server directly (not through the test gate), with the same identity.
    const kubeconfig = cluster.writeKubeconfig('direct', { server: cluster.cp.server });
    const setup = prepareIstioCni(cluster, kubeconfig, 'shop', 'istio-web');
    const pillionConfig = (pod: CniPod): string => JSON.stringify(pluginConfig(pod, { pod: { namespace: 'shop', name: 'web' } }, kubeconfig));
    return { cluster, istioCni: istio.istioCni, istio: setup, pillionConfig, version: istio.version };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** One ADD in a fresh dual-stack pod, timed; it must leave both families captured (a chain named `chain`: a plugin that quietly skipped the pod would look fast). */
async function timeFreshAdd(node: CniNode, tag: string, argv: readonly string[], args: string, config: (pod: CniPod) => string, chain: string): Promise<number> {
  const pod = await node.addPod(tag);
  try {
    const ms = timeOnce(argv, cniEnv('ADD', pod, args), config(pod));
    const families = await capturedFamilies(pod.ns, chain);
    if (families.length !== 2) throw new Error(`${argv[0]} ADD left IPv${families.join('+IPv') || ' none'} captured (${chain}), not IPv4+IPv6`);
    return ms;
  } finally {
    await node.removePod(pod);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark creates network namespaces');
  const plugin = ensureSeaBuilt();
  const apiRows = await startApiRows();
  if (typeof apiRows === 'string') console.error(`cni-add: no API server rows (pillion-cni and istio-cni reading the pod): ${apiRows}`);
  const api = typeof apiRows === 'string' ? undefined : apiRows;
  const stopApi = async (): Promise<void> => {
    if (api === undefined) return;
    await api.cluster.stop();
    rmSync(api.istio.runDir, { recursive: true, force: true });
  };
  const node = await startCniNode('bench').catch(async (error: unknown) => {
    await stopApi();
    throw error;
  });
  try {
    const pod = await node.addPod('pod');
    const podArgs = 'K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web';
    const samples = { nodeStart: [] as number[], netnsExec: [] as number[], bridgeAdd: [] as number[], notMeshed: [] as number[], meshed: [] as number[], meshedBefore: [] as number[], pillionApi: [] as number[], istioApi: [] as number[] };
    const notMeshed = JSON.stringify(pluginConfig(pod, { pod: { namespace: 'shop', name: 'web' }, runtimeAnnotations: {} }, '/nonexistent'));
    const meshed = JSON.stringify(pluginConfig(pod, { pod: { namespace: 'shop', name: 'web' }, runtimeAnnotations: meshedAnnotations }, '/nonexistent'));
    const bridgeConfig = JSON.stringify(node.bridgeConfig());
    // Interleaved, so drift on a shared machine hits every series alike.
    for (let i = 0; i < reps; i++) {
      samples.nodeStart.push(timeOnce([process.execPath, '-e', '0'], { PATH: systemPath }));
      samples.netnsExec.push(timeOnce(inNamespace(node.ns, ['true']), { PATH: systemPath }));
      const extra = await node.addPod(`b${i}`);
      await runCni({ command: 'DEL', argv: inNamespace(node.ns, ['/usr/lib/cni/bridge']), config: node.bridgeConfig(), netns: extra.netnsPath, containerId: extra.containerId });
      samples.bridgeAdd.push(timeOnce(inNamespace(node.ns, ['/usr/lib/cni/bridge']), cniEnv('ADD', extra), bridgeConfig));
      await node.removePod(extra);
      samples.notMeshed.push(timeOnce([plugin], cniEnv('ADD', pod, podArgs), notMeshed));
      // With a baseline, who goes first alternates, so neither always meets a warmer cache.
      const meshedRuns: [number[], string][] = [[samples.meshed, plugin], ...(baseline === undefined ? [] : [[samples.meshedBefore, baseline] as [number[], string]])];
      if (i % 2 === 1) meshedRuns.reverse();
      for (const [series, executable] of meshedRuns) {
        series.push(timeOnce([executable], cniEnv('ADD', pod, podArgs), meshed));
        timeOnce([plugin], cniEnv('DEL', pod, podArgs), meshed);
      }
      if (api !== undefined) {
        const apiRuns: (() => Promise<void>)[] = [
          async () => void samples.pillionApi.push(await timeFreshAdd(node, `pa${i}`, [plugin], podArgs, api.pillionConfig, 'PILLION_')),
          async () =>
            void samples.istioApi.push(
              await timeFreshAdd(node, `pi${i}`, [api.istioCni], 'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=istio-web', (p) => JSON.stringify(api.istio.config(p)), 'ISTIO_REDIRECT'),
            ),
        ];
        if (i % 2 === 1) apiRuns.reverse();
        for (const runOne of apiRuns) await runOne();
      }
    }
    const s = {
      nodeStart: stats(samples.nodeStart),
      netnsExec: stats(samples.netnsExec),
      bridgeAdd: stats(samples.bridgeAdd),
      notMeshed: stats(samples.notMeshed),
      meshed: stats(samples.meshed),
      ...(baseline === undefined ? {} : { meshedBefore: stats(samples.meshedBefore) }),
      ...(api === undefined ? {} : { pillionApi: stats(samples.pillionApi), istioApi: stats(samples.istioApi) }),
    };
    const bridgeNet = s.bridgeAdd.median - s.netnsExec.median;
    const rows: [string, Stats][] = [
      ['node -e 0', s.nodeStart],
      ['ip netns exec NODE true', s.netnsExec],
      ['bridge + host-local ADD (incl. netns exec)', s.bridgeAdd],
      ['pillion-cni ADD, not meshed', s.notMeshed],
      ['pillion-cni ADD, meshed (IPv4+IPv6)', s.meshed],
      ...(s.meshedBefore === undefined ? [] : [['  the same, --baseline executable', s.meshedBefore] as [string, Stats]]),
      ...(s.pillionApi === undefined || s.istioApi === undefined
        ? []
        : [
            ['pillion-cni ADD, meshed, pod from the API server', s.pillionApi] as [string, Stats],
            ['istio-cni ADD (sidecar), pod from the API server', s.istioApi] as [string, Stats],
          ]),
    ];
    const fmt = (x: number): string => x.toFixed(1).padStart(6);
    console.log(`pillion-cni ADD benchmark, ${reps} repetitions each (ms: median [min-max])`);
    for (const [name, st] of rows) console.log(`  ${name.padEnd(50)} ${fmt(st.median)}  [${fmt(st.min)} - ${fmt(st.max)}]`);
    const aimNotMeshed = s.nodeStart.median + 10;
    const aimMeshed = s.nodeStart.median + 3 * bridgeNet;
    console.log(`  bridge ADD net of netns exec: ${bridgeNet.toFixed(1)} ms`);
    console.log(`  aim not meshed <= node + 10 ms = ${aimNotMeshed.toFixed(1)} ms: ${s.notMeshed.median <= aimNotMeshed ? 'met' : 'MISSED'} (${s.notMeshed.median.toFixed(1)})`);
    console.log(`  aim meshed <= node + 3 x bridge = ${aimMeshed.toFixed(1)} ms: ${s.meshed.median <= aimMeshed ? 'met' : 'MISSED'} (${s.meshed.median.toFixed(1)})`);
    if (s.meshedBefore !== undefined) {
      const perRound = samples.meshed.map((x, i) => x / (samples.meshedBefore[i] ?? Number.NaN));
      console.log(`  meshed vs --baseline ${baseline}: ${(s.meshed.median / s.meshedBefore.median).toFixed(2)}x of its median (per-round ratio median ${median(perRound).toFixed(2)})`);
    }
    if (api !== undefined && s.pillionApi !== undefined && s.istioApi !== undefined) {
      const perRound = samples.pillionApi.map((x, i) => x / (samples.istioApi[i] ?? Number.NaN));
      const ratio = s.pillionApi.median / s.istioApi.median;
      console.log(`  pillion-cni vs istio-cni ${api.version} (both reading the pod): ${ratio.toFixed(2)}x of its median (per-round ratio median ${median(perRound).toFixed(2)}; goal <= 1.0: ${ratio <= 1 ? 'met' : 'MISSED'})`);
    }
    const dir = repoPath('bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `cni-add-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ reps, baseline, stats: s, samples, bridgeNet, aims: { notMeshed: aimNotMeshed, meshed: aimMeshed } }, null, 2));
    console.log(`  JSON: ${file}`);
  } finally {
    await node.destroy();
    await stopApi();
  }
}

await main();
