// Pod-level resources (spec.resources, Kubernetes 1.34+ by default): the API server refuses a pod
// whose containers together request more than its pod-level requests, or whose pod-level requests
// exceed its pod-level limits, or with a regular container whose limit is above the pod's. An
// injected proxy adds requests of its own, so a pod that was valid would be refused once injected.
//
// Decided: the pod-level budget grows by exactly what the injected containers add to the pod's
// effective requests (computed with the API server's own rule, below), so the app keeps the share
// it asked for and any slack it left; where the pod set only a limit, which the API server turns
// into its request, the pod keeps that share as an explicit request. Limits are raised only as far
// as validity needs (to the requests); a regular-container proxy's own limit is lowered to the
// pod's instead. What changed is recorded in the status annotation, so uninject and re-injection
// restore it, and values are written in the API server's canonical form.
import { isPlainObject, listOf } from './json.js';
import { InjectionError } from './errors.js';
import type { JsonObject } from './types.js';

// ---- exact quantities ----

/** A Kubernetes quantity as a whole number of nano-units (the API server rounds finer values up). */
type Nanos = bigint;

const binaryPowers: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const decimalExponents: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const quantityPattern = /^([+-]?)(\d*)(?:\.(\d*))?(?:([KMGTPE]i)|([numkMGTPE])|[eE]([+-]?\d+))?$/;
/** Exponents beyond this are refused: real resources are far smaller, and 10^huge would take the process down. */
const maxExponent = 30;

/**
 * The quantity in nano-units, rounded up; undefined when `value` is not a Kubernetes quantity (or
 * its exponent is beyond ±30, which no real resource needs).
 */
export function parseQuantity(value: unknown): Nanos | undefined {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const match = quantityPattern.exec(text);
  if (match === null) return undefined;
  const [, sign = '', whole = '', fraction = '', binary, decimal, exponent] = match;
  // Go's parser takes a lone "." as 0, never an empty number.
  if (whole === '' && fraction === '' && !text.includes('.')) return undefined;
  const shift = binary !== undefined ? 0 : exponent !== undefined ? Number(exponent) : (decimalExponents[decimal ?? ''] ?? 0);
  if (Math.abs(shift) > maxExponent) return undefined;
  let numerator = BigInt(`${whole}${fraction}` || '0');
  let denominator = 10n ** BigInt(fraction.length);
  if (binary !== undefined) numerator *= 2n ** BigInt(binaryPowers[binary] ?? 0);
  const power = 9 + shift;
  if (power >= 0) numerator *= 10n ** BigInt(power);
  else denominator *= 10n ** BigInt(-power);
  const rounded = (numerator + denominator - 1n) / denominator;
  return sign === '-' ? -rounded : rounded;
}

/** Whether a quantity's text has a binary suffix (128Mi): the API server then keeps it binary. */
function isBinaryText(value: unknown): boolean {
  return typeof value === 'string' && /[KMGTPE]i$/.test(value);
}

const nano = 1_000_000_000n;
const decimalSuffixes = Object.entries(decimalExponents).sort((a, b) => b[1] - a[1]);

/**
 * A non-negative quantity in the API server's canonical form, so that what it stores is the very
 * text written (re-injecting a stored pod then changes nothing): binary (1152Mi) when `binary`
 * and the value is a whole number of at least 1024, else decimal with the largest suffix that
 * leaves a whole mantissa (600m, 2, 1100M).
 */
export function formatQuantity(value: Nanos, binary: boolean): string {
  if (value === 0n) return '0';
  if (binary && value % nano === 0n && value >= 1024n * nano) {
    const units = value / nano;
    for (const [suffix, bits] of Object.entries(binaryPowers).reverse()) {
      const size = 2n ** BigInt(bits);
      if (units % size === 0n) return `${units / size}${suffix}`;
    }
    return String(units);
  }
  for (const [suffix, exponent] of decimalSuffixes) {
    const size = 10n ** BigInt(exponent + 9);
    if (value % size === 0n) return `${value / size}${suffix}`;
  }
  return `${value}n`;
}

// ---- the API server's aggregate of container requests ----

type Amounts = Map<string, Nanos>;

function amountsOf(resources: unknown, kind: 'requests' | 'limits', where: string): Amounts {
  const amounts: Amounts = new Map();
  const section = isPlainObject(resources) ? resources[kind] : undefined;
  if (!isPlainObject(section)) return amounts;
  for (const [resource, value] of Object.entries(section)) {
    const parsed = parseQuantity(value);
    if (parsed === undefined) throw new InjectionError(`${where}.${kind}.${resource}: ${JSON.stringify(value)} is not a Kubernetes quantity`);
    amounts.set(resource, parsed);
  }
  return amounts;
}

/** A container's requests as the API server sees them: a limit without a request defaults it. */
function containerRequests(container: unknown, where: string): Amounts {
  const resources = isPlainObject(container) ? container.resources : undefined;
  const requests = amountsOf(resources, 'requests', `${where}.resources`);
  for (const [resource, limit] of amountsOf(resources, 'limits', `${where}.resources`)) {
    if (!requests.has(resource)) requests.set(resource, limit);
  }
  return requests;
}

function add(into: Amounts, more: Amounts): void {
  for (const [resource, value] of more) into.set(resource, (into.get(resource) ?? 0n) + value);
}

function raiseTo(into: Amounts, floor: Amounts): void {
  for (const [resource, value] of floor) if (value > (into.get(resource) ?? 0n)) into.set(resource, value);
}

/**
 * What the pod's containers request together, as Kubernetes counts it: regular containers and
 * sidecars (init containers with restartPolicy Always) add up; an ordinary init container runs
 * beside the sidecars started before it, and the pod needs the largest of those moments.
 */
export function aggregateRequests(spec: JsonObject): Amounts {
  const total: Amounts = new Map();
  listOf(spec, 'containers').forEach((c, i) => add(total, containerRequests(c, `spec.containers[${i}]`)));
  const sidecars: Amounts = new Map();
  const initPeak: Amounts = new Map();
  listOf(spec, 'initContainers').forEach((c, i) => {
    const requests = containerRequests(c, `spec.initContainers[${i}]`);
    if (isPlainObject(c) && c.restartPolicy === 'Always') {
      add(total, requests);
      add(sidecars, requests);
      raiseTo(initPeak, sidecars);
    } else {
      const moment = new Map(sidecars);
      add(moment, requests);
      raiseTo(initPeak, moment);
    }
  });
  raiseTo(total, initPeak);
  return total;
}

// ---- padding ----

type Kind = 'requests' | 'limits';
const kinds: readonly Kind[] = ['requests', 'limits'];

/**
 * What injection changed in spec.resources, kept in the status record: per kind and resource,
 * the pod's own text (null: it had none) and the text written.
 */
export type PodResourcesRecord = Partial<Record<Kind, Record<string, readonly [string | null, string]>>>;

export interface PaddedSpec {
  /** `after` with its pod-level resources raised (and injected regular containers' limits capped). */
  readonly spec: JsonObject;
  readonly record: PodResourcesRecord;
}

/**
 * The injected spec `after` made valid again for its pod-level resources, or undefined when the
 * pod sets none or needs no change. `before` is the spec without the injection; `addedRegular`
 * names the containers injection put in spec.containers.
 */
export function padPodResources(before: JsonObject, after: JsonObject, addedRegular: readonly string[]): PaddedSpec | undefined {
  const original = before.resources;
  if (!isPlainObject(original)) return undefined;
  const own = { requests: amountsOf(original, 'requests', 'spec.resources'), limits: amountsOf(original, 'limits', 'spec.resources') };
  if (own.requests.size === 0 && own.limits.size === 0) return undefined;
  const was = aggregateRequests(before);
  const now = aggregateRequests(after);
  const requests = new Map(own.requests);
  const limits = new Map(own.limits);
  for (const [resource, total] of now) {
    const grown = total - (was.get(resource) ?? 0n);
    if (grown <= 0n) continue;
    const request = own.requests.get(resource);
    const limit = own.limits.get(resource);
    if (request !== undefined) requests.set(resource, request + grown);
    // No pod-level request, and no container asked for this resource: the API server derived the
    // pod's request from its limit. Once the proxy asks, it would derive it from the containers
    // (a fraction): the pod keeps its share as an explicit request instead.
    else if (limit !== undefined && !was.has(resource)) requests.set(resource, limit + grown);
  }
  // A pod-level request may not exceed the pod-level limit; without a request, the one the API
  // server derives (the containers' total) may not either.
  for (const [resource, limit] of own.limits) {
    const request = requests.get(resource) ?? now.get(resource) ?? limit;
    if (request > limit) limits.set(resource, request);
  }
  const next = { requests, limits };
  const sectionOf = (kind: Kind): JsonObject => (isPlainObject(original[kind]) ? original[kind] : {});
  const record: PodResourcesRecord = {};
  const resources: JsonObject = { ...original };
  for (const kind of kinds) {
    const ownSection = sectionOf(kind);
    const other = sectionOf(kind === 'requests' ? 'limits' : 'requests');
    const section: JsonObject = { ...ownSection };
    const changes: Record<string, readonly [string | null, string]> = {};
    for (const [resource, value] of next[kind]) {
      if (own[kind].get(resource) === value) continue;
      const text = formatQuantity(value, isBinaryText(ownSection[resource] ?? other[resource]));
      changes[resource] = [Object.hasOwn(ownSection, resource) ? String(ownSection[resource]) : null, text];
      section[resource] = text;
    }
    if (Object.keys(changes).length === 0) continue;
    record[kind] = changes;
    resources[kind] = section;
  }
  // A regular-container proxy's own limit above the pod's: the pod's cgroup caps it anyway, so it
  // is lowered to the pod's (a native sidecar is not held to this rule, and keeps its own).
  const containers = listOf(after, 'containers');
  const capped = containers.map((c, i) => {
    if (!isPlainObject(c) || typeof c.name !== 'string' || !addedRegular.includes(c.name) || !isPlainObject(c.resources)) return c;
    const ownLimits = amountsOf(c.resources, 'limits', `spec.containers[${i}].resources`);
    const lowered: JsonObject = {};
    for (const [resource, limit] of ownLimits) {
      const pod = limits.get(resource);
      if (pod !== undefined && limit > pod) lowered[resource] = formatQuantity(pod, isBinaryText((c.resources.limits as JsonObject)[resource]));
    }
    if (Object.keys(lowered).length === 0) return c;
    return { ...c, resources: { ...c.resources, limits: { ...(c.resources.limits as JsonObject), ...lowered } } };
  });
  const containersChanged = capped.some((c, i) => c !== containers[i]);
  if (Object.keys(record).length === 0 && !containersChanged) return undefined;
  return { spec: { ...after, resources, ...(containersChanged ? { containers: capped } : {}) }, record };
}

/**
 * spec.resources without what injection changed (`record`), for uninject and re-injection. A value
 * still as written goes back to the pod's own; one edited since keeps the edit, less what injection
 * had added (the edit was to the pod's total); one removed stays removed.
 */
export function restorePodResources(resources: unknown, record: PodResourcesRecord): unknown {
  if (!isPlainObject(resources)) return resources;
  const restored: JsonObject = { ...resources };
  for (const kind of kinds) {
    const changes = record[kind];
    if (changes === undefined || !isPlainObject(resources[kind])) continue;
    const section: JsonObject = { ...resources[kind] };
    for (const [resource, [own, written]] of Object.entries(changes)) {
      if (!Object.hasOwn(section, resource)) continue;
      const live = parseQuantity(section[resource]);
      const wrote = parseQuantity(written);
      const had = own === null ? undefined : parseQuantity(own);
      if (live === undefined || wrote === undefined) continue; // not a quantity: the user's, kept
      if (live === wrote) {
        if (own === null) delete section[resource];
        else section[resource] = own;
      } else if (had !== undefined) {
        const less = live - (wrote - had);
        section[resource] = formatQuantity(less > 0n ? less : 0n, isBinaryText(section[resource]));
      } // else a value injection created and the user edited since: theirs now
    }
    if (Object.keys(section).length === 0) delete restored[kind];
    else restored[kind] = section;
  }
  return restored;
}

/** A status record's podResources, checked; undefined when malformed. */
export function readPodResourcesRecord(value: unknown): PodResourcesRecord | undefined {
  if (!isPlainObject(value)) return undefined;
  const record: PodResourcesRecord = {};
  for (const [kind, changes] of Object.entries(value)) {
    if ((kind !== 'requests' && kind !== 'limits') || !isPlainObject(changes)) return undefined;
    const checked: Record<string, readonly [string | null, string]> = {};
    for (const [resource, pair] of Object.entries(changes)) {
      if (!Array.isArray(pair) || pair.length !== 2 || !(pair[0] === null || typeof pair[0] === 'string') || typeof pair[1] !== 'string') return undefined;
      checked[resource] = [pair[0] as string | null, pair[1]];
    }
    record[kind] = checked;
  }
  return record;
}
