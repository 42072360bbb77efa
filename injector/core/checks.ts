// Checks that keep injectPod from saying yes to a pod the API server will refuse or the kubelet
// will run wrongly: malformed pod lists, names Pillion reserves, another mesh's proxy, resource
// requests above limits, pods that will hang with a regular-container proxy, and TCP probes the
// proxy would answer for the app. Each failure is an InjectionError with a message in the user's
// terms; warnings go to the caller's list.
import { nameOf } from './merge.js';
import { isPlainObject, objectsOf } from './json.js';
import type { JsonObject } from './types.js';
import { InjectionError } from './errors.js';
import { parseQuantity } from './pod-resources.js';
import { simulatePacket } from '../../init/index.js';
import type { CapturePlan } from '../../init/index.js';

/** Deeper than any pod the API server's schema allows; recursion below stays far from the stack limit. */
export const maxPodDepth = 64;

/**
 * Whether an object has more than `levels` levels of objects (itself included). The recursion stops
 * at `levels`, so a hostile input cannot overflow the stack: at most maxPodDepth frames deep.
 * (Recursion is about ten times faster than an explicit stack of pairs; indexing and `for...in`
 * allocate nothing, and were 4-5 times faster than Object.values on the corpus's pods: the check
 * runs on every review.) `for...in` also visits inherited enumerable keys: only more to walk.
 */
function depthExceeds(node: object, levels: number): boolean {
  if (levels <= 0) return true;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const child: unknown = node[i];
      if (typeof child === 'object' && child !== null && depthExceeds(child, levels - 1)) return true;
    }
    return false;
  }
  const record = node as Record<string, unknown>;
  for (const key in record) {
    const child = record[key];
    if (typeof child === 'object' && child !== null && depthExceeds(child, levels - 1)) return true;
  }
  return false;
}

/** Refuse a pod nested deeper than any real pod. */
export function checkDepth(pod: unknown): void {
  if (typeof pod === 'object' && pod !== null && depthExceeds(pod, maxPodDepth)) {
    throw new InjectionError(`pod is nested more than ${maxPodDepth} levels deep; no Kubernetes pod is, so this is not a pod`);
  }
}

const containerLists = ['initContainers', 'containers'] as const;

/**
 * The pod lists injection adds to must be what the API server accepts: lists of objects with
 * unique names. Anything else is refused, never repaired (a map of init containers is not
 * replaced, a second container of one name is not merged away).
 */
export function checkPodLists(spec: JsonObject): void {
  const seen = new Map<string, string>();
  for (const key of [...containerLists, 'volumes'] as const) {
    const list = spec[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      throw new InjectionError(`pod spec.${key} must be a list, not ${describeKind(list)}; the API server refuses it`);
    }
    const names = new Set<string>();
    for (const [i, item] of list.entries()) {
      if (!isPlainObject(item)) throw new InjectionError(`pod spec.${key}[${i}] must be an object, not ${describeKind(item)}`);
      const name = nameOf(item);
      if (name === undefined || name === '') throw new InjectionError(`pod spec.${key}[${i}] has no name; the API server refuses it`);
      if (key === 'volumes') {
        if (names.has(name)) throw new InjectionError(`pod spec.volumes: the name "${name}" is used twice; the API server refuses duplicate names`);
        names.add(name);
        continue;
      }
      // Init containers and containers share one namespace of names.
      const earlier = seen.get(name);
      if (earlier !== undefined) {
        throw new InjectionError(`pod spec.${key}[${i}]: the container name "${name}" is already used in spec.${earlier}; the API server refuses duplicate names`);
      }
      seen.set(name, key);
    }
  }
}

function describeKind(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'a map' : `a ${typeof value}`;
}

function portNames(container: JsonObject): string[] {
  return objectsOf(container, 'ports').flatMap((port) => (typeof port.name === 'string' ? [port.name] : []));
}

/**
 * Names the templates add are Pillion's: a user container, volume or container port with one of
 * them is refused rather than merged (before, a user `pillion-proxy` silently customised the proxy
 * and a port named like the proxy's sent Services and probes to the wrong container).
 */
interface Reserved {
  readonly containers: ReadonlySet<string>;
  readonly ports: ReadonlySet<string>;
  readonly volumes: ReadonlySet<string>;
}

// A fragment is the same (frozen, cached) object for every pod of a template set: its names are
// gathered once.
const reservedOf = new WeakMap<JsonObject, Reserved>();

function reservedNames(fragmentSpec: JsonObject): Reserved {
  let reserved = reservedOf.get(fragmentSpec);
  if (reserved === undefined) {
    const templateContainers = [...objectsOf(fragmentSpec, 'initContainers'), ...objectsOf(fragmentSpec, 'containers')];
    reserved = {
      containers: new Set(templateContainers.flatMap((c) => nameOf(c) ?? [])),
      ports: new Set(templateContainers.flatMap(portNames)),
      volumes: new Set(objectsOf(fragmentSpec, 'volumes').flatMap((v) => nameOf(v) ?? [])),
    };
    reservedOf.set(fragmentSpec, reserved);
  }
  return reserved;
}

export function checkReservedNames(userSpec: JsonObject, fragmentSpec: JsonObject): void {
  const reserved = reservedNames(fragmentSpec);
  for (const key of containerLists) {
    const list = userSpec[key];
    if (!Array.isArray(list)) continue;
    for (const [i, container] of list.entries()) {
      if (!isPlainObject(container)) continue;
      const name = nameOf(container) ?? '';
      if (reserved.containers.has(name)) {
        throw new InjectionError(
          `pod spec.${key}[${i}] is named "${name}", which Pillion reserves for the container it injects; rename it ` +
            '(the proxy is customised with pillion.dev/ annotations, see docs/injection.md)',
        );
      }
      const ports = container.ports;
      if (!Array.isArray(ports)) continue;
      for (const port of ports) {
        if (isPlainObject(port) && typeof port.name === 'string' && reserved.ports.has(port.name)) {
          throw new InjectionError(`container "${name}" has a port named "${port.name}", which Pillion reserves for the proxy's port; rename the port`);
        }
      }
    }
  }
  const volumes = userSpec.volumes;
  if (!Array.isArray(volumes)) return;
  for (const [i, volume] of volumes.entries()) {
    const name = isPlainObject(volume) ? (nameOf(volume) ?? '') : '';
    if (reserved.volumes.has(name)) {
      throw new InjectionError(`pod spec.volumes[${i}] is named "${name}", which Pillion reserves for a volume it injects; rename it`);
    }
  }
}

interface MeshSign {
  readonly mesh: string;
  readonly annotations: readonly string[];
  readonly containers: readonly string[];
}

const otherMeshes: readonly MeshSign[] = [
  { mesh: 'Istio', annotations: ['sidecar.istio.io/status'], containers: ['istio-proxy', 'istio-init', 'istio-validation'] },
  { mesh: 'Linkerd', annotations: ['linkerd.io/proxy-version'], containers: ['linkerd-proxy', 'linkerd-init', 'linkerd-network-validator'] },
];

const otherMeshContainers: ReadonlySet<string> = new Set(otherMeshes.flatMap((sign) => sign.containers));

/** Which other mesh's proxy the pod already carries, and the sign that shows it; undefined when none. */
export function findOtherMesh(pod: JsonObject): { mesh: string; sign: string } | undefined {
  const metadata = isPlainObject(pod.metadata) ? pod.metadata : {};
  const annotations = isPlainObject(metadata.annotations) ? metadata.annotations : {};
  const spec = isPlainObject(pod.spec) ? pod.spec : {};
  // Only the names that are another mesh's are collected: for nearly every pod, none.
  const containers = new Set<string>();
  for (const key of containerLists) {
    const list = spec[key];
    if (!Array.isArray(list)) continue;
    for (const c of list) if (isPlainObject(c) && typeof c.name === 'string' && otherMeshContainers.has(c.name)) containers.add(c.name);
  }
  for (const sign of otherMeshes) {
    const annotation = sign.annotations.find((key) => Object.hasOwn(annotations, key));
    if (annotation !== undefined) return { mesh: sign.mesh, sign: `annotation ${annotation}` };
    const container = sign.containers.find((name) => containers.has(name));
    if (container !== undefined) return { mesh: sign.mesh, sign: `container ${container}` };
  }
  return undefined;
}

// Kubernetes quantities as numbers of base units (cores, bytes): exact enough to order them.
const suffixes: Readonly<Record<string, number>> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The value of a quantity (`100m` → 0.1, `1Gi` → 1073741824); undefined when not one. */
export function quantityValue(text: unknown): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) ? text : undefined;
  if (typeof text !== 'string') return undefined;
  const match = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([KMGTPE]i|[mkMGTPE])|[eE]([+-]?\d+))?$/.exec(text.trim());
  if (match === null) return undefined;
  const number = Number(match[1]);
  if (match[3] !== undefined) return number * 10 ** Number(match[3]);
  return number * (suffixes[match[2] ?? ''] ?? 1);
}

/**
 * Whether the quantity `request` is above `limit`, as the API server compares them: exactly (it
 * rounds a value up to the next nano-unit), so "2.0000000000000001" is above "2". Values the
 * exact reader leaves out (exponents beyond ±30) are ordered as floats.
 */
function exceeds(request: unknown, limit: unknown): boolean {
  const roughRequest = quantityValue(request);
  const roughLimit = quantityValue(limit);
  if (roughRequest === undefined || roughLimit === undefined) return false;
  // Floats order values that differ in their first nine digits rightly; only closer ones (equal
  // ones above all) need the exact reading, which costs a few microseconds a pod.
  if (Math.abs(roughRequest - roughLimit) > 1e-9 * Math.max(Math.abs(roughRequest), Math.abs(roughLimit))) return roughRequest > roughLimit;
  const exactRequest = parseQuantity(request);
  const exactLimit = parseQuantity(limit);
  return exactRequest !== undefined && exactLimit !== undefined ? exactRequest > exactLimit : roughRequest > roughLimit;
}

/** The override annotation of each resource field (resources.requests.cpu ← pillion.dev/proxy-cpu …). */
export function resourceAnnotation(kind: 'requests' | 'limits', resource: string): string {
  return `pillion.dev/proxy-${resource}${kind === 'limits' ? '-limit' : ''}`;
}

/**
 * A request above its limit is refused by the API server. `overridden` holds the fields an
 * annotation set (`requests.cpu`, `limits.memory`); the error names the annotation that caused
 * the conflict (the request's when both did). With none, `where` (the values file) is named.
 */
export function checkRequestsWithinLimits(resources: unknown, overridden: ReadonlySet<string>, where: string): void {
  if (!isPlainObject(resources)) return;
  const requests = isPlainObject(resources.requests) ? resources.requests : {};
  const limits = isPlainObject(resources.limits) ? resources.limits : {};
  for (const resource of Object.keys(requests)) {
    if (!exceeds(requests[resource], limits[resource])) continue;
    const requestText = String(requests[resource]);
    const limitText = String(limits[resource]);
    const refused = 'the API server refuses a request above its limit';
    const byRequest = overridden.has(`requests.${resource}`);
    const byLimit = overridden.has(`limits.${resource}`);
    const requestKey = resourceAnnotation('requests', resource);
    const limitKey = resourceAnnotation('limits', resource);
    if (byRequest && byLimit) {
      throw new InjectionError(`annotation ${requestKey}: ${resource} request ${requestText} is above ${limitKey} ${limitText}; ${refused}`, requestKey);
    }
    if (byRequest) {
      throw new InjectionError(
        `annotation ${requestKey}: ${resource} request ${requestText} is above the proxy's ${resource} limit ${limitText}; ${refused}: ` +
          `lower the request or raise the limit with ${limitKey}`,
        requestKey,
      );
    }
    if (byLimit) {
      throw new InjectionError(
        `annotation ${limitKey}: ${resource} limit ${limitText} is below the proxy's ${resource} request ${requestText}; ${refused}: ` +
          `raise the limit or lower the request with ${requestKey}`,
        limitKey,
      );
    }
    throw new InjectionError(`${where}: ${resource} request ${requestText} is above the ${resource} limit ${limitText}; ${refused}`);
  }
}

/**
 * Pods that will hang or fail because the proxy runs as a regular container: a run-to-completion
 * pod (a Job's) never completes while the proxy runs, and init containers run with capture on and
 * no proxy listening. Warnings give the documented ways out.
 */
export function regularProxyWarnings(spec: JsonObject, proxyUid: unknown): string[] {
  const warnings: string[] = [];
  const native = 'use native sidecars (pillion.dev/native-sidecar: "true")';
  const restartPolicy = spec.restartPolicy;
  if (restartPolicy === 'Never' || restartPolicy === 'OnFailure') {
    warnings.push(
      `pod runs to completion (restartPolicy: ${restartPolicy}) but the proxy is a regular container that never exits, ` +
        `so the pod never completes (a Job hangs): ${native} or opt out (pillion.dev/inject: disabled)`,
    );
  }
  const uid = typeof proxyUid === 'number' ? proxyUid : undefined;
  const stuck = objectsOf(spec, 'initContainers').filter((c) => {
    if (isNativeSidecar(c)) return false;
    const securityContext = isPlainObject(c.securityContext) ? c.securityContext : {};
    return uid === undefined || securityContext.runAsUser !== uid;
  });
  if (stuck.length > 0) {
    const names = stuck.map((c) => nameOf(c) ?? '?').join(', ');
    warnings.push(
      `init containers ${names} run with capture on and no proxy yet, so their connections fail: ${native}, ` +
        `run them as uid ${uid ?? 'of the proxy'}, or exclude their destinations (pillion.dev/exclude-outbound-*)`,
    );
  }
  // The pod's own native sidecars start before the regular containers, the proxy among them, and
  // run on: running them as the proxy's uid would take them out of the mesh for good.
  const early = nativeSidecarsOf(spec);
  if (early.length > 0) {
    warnings.push(
      `native sidecars ${early.map((c) => nameOf(c) ?? '?').join(', ')} start before the proxy (a regular container) with capture on, so their connections fail until it listens, ` +
        `and a startup probe of theirs that needs the network never passes: ${native} or exclude their destinations (pillion.dev/exclude-outbound-*)`,
    );
  }
  return warnings;
}

/**
 * The pod's containers (and its own native sidecars) that run as the uid or gid the capture lets
 * out uncaptured, the proxy's: their traffic bypasses the proxy, and nothing else says so. Init
 * containers that run to completion are left out: running them as the proxy's uid is the documented
 * way for them to reach the network before a regular-container proxy starts.
 */
export function proxyIdentityWarnings(spec: JsonObject, exempt: { readonly proxyUid: number; readonly proxyGid: number } | undefined): string[] {
  if (exempt === undefined) return [];
  const pod = isPlainObject(spec.securityContext) ? spec.securityContext : {};
  const containers = [...nativeSidecarsOf(spec), ...objectsOf(spec, 'containers')];
  const names = containers
    .filter((c) => {
      const own = isPlainObject(c.securityContext) ? c.securityContext : {};
      return (own.runAsUser ?? pod.runAsUser) === exempt.proxyUid || (own.runAsGroup ?? pod.runAsGroup) === exempt.proxyGid;
    })
    .map((c) => nameOf(c) ?? '?');
  if (names.length === 0) return [];
  return [
    `containers ${names.join(', ')} run as the proxy's uid ${exempt.proxyUid} or gid ${exempt.proxyGid}, whose traffic the capture leaves alone: theirs bypasses the proxy; run them as another uid and gid`,
  ];
}

/** An init container that runs beside the app (restartPolicy Always): a native sidecar. */
function isNativeSidecar(container: JsonObject): boolean {
  return container.restartPolicy === 'Always';
}

/** The pod's own native sidecars. */
function nativeSidecarsOf(spec: JsonObject): JsonObject[] {
  return objectsOf(spec, 'initContainers').filter(isNativeSidecar);
}

/** Whether the pod itself already uses native sidecars (proof that its cluster supports them). */
export function usesNativeSidecars(spec: JsonObject): boolean {
  return objectsOf(spec, 'initContainers').some(isNativeSidecar);
}

/**
 * The app's declared TCP ports that the proxy listens on (`proxyPorts`: port → what for). The pod
 * has one network namespace, so only one of the two can bind such a port: the proxy or the app
 * fails at start-up. The API server does not check it (duplicate ports draw only its warning), so
 * Pillion says so, naming both sides and the way out.
 */
export function proxyPortWarnings(spec: JsonObject, proxyPorts: ReadonlyMap<number, string>): string[] {
  const warnings: string[] = [];
  for (const container of [...objectsOf(spec, 'initContainers'), ...objectsOf(spec, 'containers')]) {
    for (const port of objectsOf(container, 'ports')) {
      const role = typeof port.containerPort === 'number' ? proxyPorts.get(port.containerPort) : undefined;
      if (role === undefined || (port.protocol ?? 'TCP') !== 'TCP') continue;
      warnings.push(
        `container ${nameOf(container) ?? '?'} declares port ${String(port.containerPort)}, which the proxy listens on (${role}): ` +
          `in the pod's one network namespace only one of them can bind it; move the app's port, or the proxy's (values.yaml ports)`,
      );
    }
  }
  return warnings;
}

// The app's TCP probes after injection. The kubelet probes a pod from outside it, so its
// connection to a captured port is redirected to the proxy's inbound listener, and the kernel
// completes the handshake there whether or not the app listens: a tcpSocket probe on such a port
// passes as soon as the proxy is up (readiness too early, liveness never failing). HTTP, gRPC and
// exec probes are unaffected: they need the app's answer. Pillion has no prober of its own to
// rewrite probes to (Istio's pilot-agent is one), so it says so instead, naming the fixes.

const probeKinds = ['readinessProbe', 'livenessProbe', 'startupProbe'] as const;

/** Whether the plan redirects a connection from outside the pod to `port` to the proxy. */
function capturesInbound(plan: CapturePlan, port: number): boolean {
  const verdict = simulatePacket(plan, {
    family: 4, protocol: 'tcp', source: '192.0.2.1', destination: '192.0.2.2', destinationPort: port,
    uid: undefined, gid: undefined, inInterface: 'eth0', outInterface: undefined, inbound: true,
  }).verdict;
  return verdict.kind === 'redirect';
}

/** A probe's port as a number: itself, or the container's port of that name. */
function resolvePort(port: unknown, container: JsonObject): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port !== 'string') return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  const named = objectsOf(container, 'ports').find((p) => p.name === port);
  return typeof named?.containerPort === 'number' ? named.containerPort : undefined;
}

/**
 * One warning per tcpSocket probe of the pod's own containers (and native sidecars) whose port is
 * captured inbound by the pod's capture plan, which `planOf` gives (undefined: nothing captured).
 */
export function tcpProbeWarnings(spec: JsonObject, planOf: () => CapturePlan | undefined): string[] {
  const containers = [...objectsOf(spec, 'containers'), ...nativeSidecarsOf(spec)];
  const warnings: string[] = [];
  for (const container of containers) {
    for (const kind of probeKinds) {
      const probe = container[kind];
      if (!isPlainObject(probe) || !isPlainObject(probe.tcpSocket)) continue;
      const port = resolvePort(probe.tcpSocket.port, container);
      const plan = port === undefined ? undefined : planOf();
      if (port === undefined || plan === undefined || !capturesInbound(plan, port)) continue;
      warnings.push(
        `container ${nameOf(container) ?? '?'}: its tcpSocket ${kind} on port ${port} reaches the proxy, which accepts the connection whether or not ` +
          `the app listens, so the probe passes once the proxy is up: use an httpGet, grpc or exec probe, or exclude the port (pillion.dev/exclude-inbound-ports)`,
      );
    }
  }
  return warnings;
}
