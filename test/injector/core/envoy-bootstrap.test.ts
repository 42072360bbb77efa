// The Envoy bootstrap the injector puts into pods, checked against Envoy's own API definitions and
// validation rules: the test peer envoy-bootstrap-check (test/peers/envoy-bootstrap-check, built
// from go-control-plane by scripts/get-envoy-check.sh) parses each document as
// envoy.config.bootstrap.v3.Bootstrap with unknown fields refused, resolves every typed_config,
// and runs the protoc-gen-validate rules, also inside every typed_config.
// Every template combination the injector can render (each ordered list of distinct bundled
// templates, as pillion.dev/templates allows) is crossed with every annotation and config setting
// that changes the rendered pod, and with a values override; the bootstraps found in the
// pods are checked. No checker: skip with the reason on a laptop, fail under CI=true.
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { defaultInjectorConfig } from '../../../injector/core/config.js';
import { injectPod } from '../../../injector/core/inject.js';
import { proxyContainerName } from '../../../injector/core/templates.js';
import { isPlainObject } from '../../../injector/core/json.js';
import { templateCombinationProblem } from '../../../injector/core/overrides.js';
import { loadTemplates } from '../../../injector/core/templates.js';
import type { InjectorConfig, JsonObject, TemplateSet } from '../../../injector/core/types.js';
import { InjectionError } from '../../../injector/core/errors.js';
import { skipOrFail } from '../../support/privileges.js';
import { bundledTemplates } from './fixture-support.js';
import { builtPeer } from '../../support/peers.js';

const checkerName = 'envoy-bootstrap-check';

/** The built checker (scripts/get-envoy-check.sh --check never builds), or undefined after skipOrFail. */
function requireChecker(t: TestContext): string | undefined {
  const found = builtPeer('get-envoy-check.sh');
  if (found !== undefined) return join(found, checkerName);
  skipOrFail(t, `needs ${checkerName} (not built; run scripts/get-envoy-check.sh, several minutes on two cores)`);
  return undefined;
}

function runChecker(checker: string, args: readonly string[], input?: string) {
  const result = spawnSync(checker, args, { encoding: 'utf8', input: input ?? '', timeout: 60_000 });
  if (result.error !== undefined) throw result.error;
  return result;
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-envoy-bootstrap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every non-empty ordered list of distinct names: what pillion.dev/templates can select. */
function orderedSelections(names: readonly string[]): string[][] {
  const out: string[][] = [];
  const extend = (prefix: string[]) => {
    for (const name of names) {
      if (prefix.includes(name)) continue;
      const next = [...prefix, name];
      out.push(next);
      extend(next);
    }
  };
  extend([]);
  return out;
}

interface PodVariant {
  readonly label: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly config: Partial<InjectorConfig>;
}

// Each annotation of docs/injection.md's table and each injector-config setting that changes the
// rendered pod. Only the templates (and values) shape the bootstrap today; the rest are here so
// that a future template that lets one of them reach the bootstrap is checked without anyone
// remembering to add it.
const podVariants: readonly PodVariant[] = [
  { label: 'no overrides', annotations: {}, config: {} },
  ...['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'].map((level) => ({
    label: `log-level=${level}`,
    annotations: { 'pillion.dev/log-level': level },
    config: {},
  })),
  { label: 'native-sidecar=true', annotations: { 'pillion.dev/native-sidecar': 'true' }, config: {} },
  { label: 'native-sidecar=false', annotations: { 'pillion.dev/native-sidecar': 'false' }, config: {} },
  { label: 'holdApplicationUntilProxyStarts', annotations: {}, config: { holdApplicationUntilProxyStarts: true } },
  { label: 'captureMode cni', annotations: {}, config: { captureMode: 'cni' } },
  {
    label: 'every capture override',
    annotations: {
      'pillion.dev/inbound-ports': '80,8000-8100',
      'pillion.dev/exclude-inbound-ports': '9090',
      'pillion.dev/outbound-cidrs': '10.0.0.0/8',
      'pillion.dev/exclude-outbound-cidrs': '10.1.0.0/16',
      'pillion.dev/outbound-ports': '443',
      'pillion.dev/exclude-outbound-ports': '5432',
      'pillion.dev/exclude-interfaces': 'eth1',
      'pillion.dev/redirect-dns': 'true',
    },
    config: {},
  },
  {
    label: 'proxy resources and image',
    annotations: {
      'pillion.dev/proxy-cpu': '250m',
      'pillion.dev/proxy-memory': '256Mi',
      'pillion.dev/proxy-cpu-limit': '1',
      'pillion.dev/proxy-memory-limit': '512Mi',
      'pillion.dev/proxy-image': 'registry.example/envoy:v1.31.2',
    },
    config: { allowImageOverride: true },
  },
];

// A --values override that moves every value the bootstrap references.
const movedValues = `
proxy: { concurrency: 4 }
ports: { outbound: 25001, inbound: 25006, admin: 25000, readiness: 25021, metrics: 25090 }
`;

const envoyLogLevels = new Set(['trace', 'debug', 'info', 'warning', 'warn', 'error', 'critical', 'off']);

interface Found {
  /** The bootstrap text (what follows --config-yaml), or undefined when the proxy runs no Envoy. */
  readonly bootstrap: string | undefined;
}

/** Inject and return the --config-yaml text of the proxy container, checking the argv around it. */
function renderedBootstrap(set: TemplateSet, templates: readonly string[], variant: PodVariant, where: string): Found {
  const pod = {
    metadata: { name: 'app', namespace: 'shop', annotations: { 'pillion.dev/templates': templates.join(','), ...variant.annotations } },
    spec: { containers: [{ name: 'app', image: 'nginx' }] },
  };
  const config: InjectorConfig = { ...defaultInjectorConfig, ...variant.config };
  const result = injectPod(pod, { mode: 'candidate', namespace: 'shop', namespaceLabels: undefined }, { config, templates: set });
  assert.equal(result.kind, 'injected', `${where}: not injected`);
  if (result.kind !== 'injected') return { bootstrap: undefined };
  const spec = result.pod.spec as JsonObject;
  const all = [...((spec.initContainers as JsonObject[] | undefined) ?? []), ...((spec.containers as JsonObject[] | undefined) ?? [])];
  const proxy = all.find((c) => c.name === proxyContainerName);
  assert.ok(proxy, `${where}: no ${proxyContainerName} container`);
  const args = (proxy.args as unknown[] | undefined) ?? [];
  const at = args.indexOf('--config-yaml');
  if (at < 0) return { bootstrap: undefined };
  assert.equal(args.filter((a) => a === '--config-yaml').length, 1, `${where}: --config-yaml more than once`);
  const bootstrap = args[at + 1];
  assert.equal(typeof bootstrap, 'string', `${where}: --config-yaml has no text after it`);
  // The rest of Envoy's command line, which the bootstrap check cannot see.
  const level = args[args.indexOf('--log-level') + 1];
  assert.ok(typeof level === 'string' && envoyLogLevels.has(level), `${where}: --log-level ${String(level)} is not one of Envoy's levels`);
  const concurrency = args[args.indexOf('--concurrency') + 1];
  assert.ok(typeof concurrency === 'string' && /^[1-9]\d*$/.test(concurrency), `${where}: --concurrency ${String(concurrency)} is not a positive integer`);
  return { bootstrap: bootstrap as string };
}

test('every Envoy bootstrap the injector can render passes Envoy API validation (envoy-bootstrap-check)', (t) => {
  // Rendering comes first: its own assertions hold with or without the checker.
  const dir = tempDir(t);
  const valuesFile = join(dir, 'moved-values.yaml');
  writeFileSync(valuesFile, movedValues);
  const sets: [string, TemplateSet][] = [
    ['bundled values', bundledTemplates()],
    ['--values moving every port', loadTemplates(undefined, valuesFile)],
  ];

  // Distinct bootstrap text → the combinations that rendered it.
  const bootstraps = new Map<string, string[]>();
  let combinations = 0;
  for (const [setLabel, set] of sets) {
    assert.ok(set.names.includes('envoy'), 'the bundled templates have no envoy template');
    for (const templates of orderedSelections(set.names)) {
      for (const variant of podVariants) {
        const where = `templates=${templates.join(',')} ${variant.label} (${setLabel})`;
        // A selection without exactly one proxy template cannot work and is refused, naming the annotation.
        if (templateCombinationProblem(templates, set) !== undefined) {
          assert.throws(() => renderedBootstrap(set, templates, variant, where), (e: unknown) => e instanceof InjectionError && e.annotation === 'pillion.dev/templates', where);
          continue;
        }
        const { bootstrap } = renderedBootstrap(set, templates, variant, where);
        // Only the envoy template runs Envoy; every selection holding it must hand Envoy a bootstrap.
        assert.equal(bootstrap !== undefined, templates.includes('envoy'), `${where}: bootstrap ${bootstrap === undefined ? 'missing' : 'unexpected'}`);
        if (bootstrap === undefined) continue;
        combinations++;
        const seen = bootstraps.get(bootstrap) ?? [];
        seen.push(where);
        bootstraps.set(bootstrap, seen);
      }
    }
  }
  assert.ok(bootstraps.size >= sets.length, 'expected a bootstrap per values set');
  const checker = requireChecker(t);
  if (checker === undefined) return;

  const files: string[] = [];
  const origin = new Map<string, string[]>();
  for (const [text, where] of bootstraps) {
    const file = join(dir, `bootstrap-${files.length + 1}.json`);
    writeFileSync(file, text);
    files.push(file);
    origin.set(file, where);
  }
  t.diagnostic(`${combinations} combinations rendered ${files.length} distinct bootstraps`);
  const result = runChecker(checker, files);
  const explain = files.map((f) => `${f}: ${origin.get(f)?.length} combinations, e.g. ${origin.get(f)?.[0]}`).join('\n');
  assert.equal(result.status, 0, `Envoy would reject a rendered bootstrap:\n${result.stderr}\n${explain}`);
  for (const file of files) assert.ok(result.stdout.includes(`${file}: valid`), `no verdict for ${file}:\n${result.stdout}`);
  // Deprecated fields are accepted by Envoy but will stop working: the templates use none.
  assert.equal(result.stderr, '', `warnings from the checker:\n${result.stderr}`);
});

/** The default bootstrap (envoy alone, bundled values), parsed. */
function defaultBootstrap(): JsonObject {
  const found = renderedBootstrap(bundledTemplates(), ['envoy'], podVariants[0] as PodVariant, 'envoy');
  assert.ok(found.bootstrap !== undefined);
  return JSON.parse(found.bootstrap) as JsonObject;
}

/** The object at `path` (keys and list indexes) inside parsed JSON. */
function dig(root: JsonObject, ...path: (string | number)[]): JsonObject {
  let node: unknown = root;
  for (const step of path) {
    node = typeof step === 'number' ? (Array.isArray(node) ? node[step] : undefined) : isPlainObject(node) ? node[step] : undefined;
  }
  assert.ok(isPlainObject(node), `nothing at ${path.join('.')} in the bootstrap`);
  return node;
}

test('envoy-bootstrap-check fails precisely on an invalid bootstrap, and takes YAML on stdin', (t) => {
  const checker = requireChecker(t);
  if (checker === undefined) return;
  const dir = tempDir(t);
  const cases: { name: string; mutate: (b: JsonObject) => void; expect: RegExp[] }[] = [
    {
      name: 'misspelled-field',
      mutate: (b) => {
        const cluster = dig(b, 'static_resources', 'clusters', 0);
        cluster.conect_timeout = cluster.connect_timeout;
        delete cluster.connect_timeout;
      },
      expect: [/unknown field "conect_timeout"/],
    },
    {
      name: 'port-out-of-range',
      mutate: (b) => (dig(b, 'admin', 'address', 'socket_address').port_value = 70000),
      expect: [/admin\.address\.socket_address\.port_value/, /65535/],
    },
    {
      name: 'invalid-typed-config',
      mutate: (b) => (dig(b, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config').stat_prefix = ''),
      expect: [/typed_config<envoy\.extensions\.filters\.network\.tcp_proxy\.v3\.TcpProxy>\.stat_prefix/],
    },
    {
      name: 'unknown-type',
      mutate: (b) => {
        const typed = dig(b, 'static_resources', 'listeners', 0, 'listener_filters', 0, 'typed_config');
        typed['@type'] = `${String(typed['@type'])}Typo`;
      },
      expect: [/OriginalDstTypo/],
    },
    {
      name: 'bad-enum',
      mutate: (b) => (dig(b, 'static_resources', 'clusters', 0).lb_policy = 'CLUSTER_PROVIDE'),
      expect: [/lbPolicy|lb_policy/, /CLUSTER_PROVIDE/],
    },
    // Envoy's own load-time checks, which the proto rules do not express.
    {
      name: 'source-not-an-ip',
      mutate: (b) => (dig(b, 'static_resources', 'clusters', 1, 'upstream_bind_config', 'source_address').address = 'localhost'),
      expect: [/static_resources\.clusters\[1\]\.upstream_bind_config\.source_address\.address: "localhost" is not an IP address/],
    },
    {
      name: 'listeners-share-an-address',
      mutate: (b) => (dig(b, 'static_resources', 'listeners', 3, 'address', 'socket_address').port_value = dig(b, 'static_resources', 'listeners', 2, 'address', 'socket_address').port_value),
      expect: [/static_resources\.listeners\[3\]\.address: .* is also the address of listeners\[2\]/],
    },
    {
      name: 'route-to-unknown-cluster',
      mutate: (b) => {
        const hcm = dig(b, 'static_resources', 'listeners', 3, 'filter_chains', 0, 'filters', 0, 'typed_config');
        dig(hcm, 'route_config', 'virtual_hosts', 0, 'routes', 0, 'route').cluster = 'admn';
      },
      expect: [/routes\[0\]\.route\.cluster: unknown cluster "admn"/],
    },
  ];
  const files = cases.map((c) => {
    const bootstrap = defaultBootstrap();
    c.mutate(bootstrap);
    const file = join(dir, `${c.name}.json`);
    writeFileSync(file, JSON.stringify(bootstrap));
    return file;
  });
  for (const [i, c] of cases.entries()) {
    const one = runChecker(checker, [files[i] as string]);
    assert.equal(one.status, 1, `${c.name}: expected exit 1, got ${one.status}:\n${one.stdout}${one.stderr}`);
    for (const pattern of c.expect) assert.match(one.stderr, pattern, `${c.name}: the message does not name the problem`);
    assert.ok(one.stderr.startsWith(`${files[i]}: `), `${c.name}: the message does not name the file:\n${one.stderr}`);
  }

  // The valid default bootstrap, as YAML on stdin.
  const yaml = runChecker(checker, [], stringify(defaultBootstrap()));
  assert.equal(yaml.status, 0, yaml.stderr);
  assert.match(yaml.stdout, /^<stdin>: valid/);

  const usage = runChecker(checker, ['--no-such-option']);
  assert.equal(usage.status, 2);
});
