// Pod-level resources (spec.resources, Kubernetes 1.34+ by default): the API server refuses a pod
// whose containers together request more than its pod-level requests, or whose pod-level requests
// exceed its pod-level limits, or with a regular container whose limit is above the pod's. An
// injected proxy adds requests of its own, so a pod that was valid would be refused once injected.
//
// Decided: the pod-level budget grows by exactly what the injected containers add to the pod's
// effective requests (computed with the API server's own rule, below), so the app keeps the share
// it asked for and any slack it left. Limits are raised only as far as validity needs: to the new
// (or, where the pod sets none, the derived) requests, and to the limit of a proxy that runs as a
// regular container. The pod's own
// spec.resources is recorded in the status annotation, so uninject and re-injection restore it.
import { isPlainObject, listOf } from './json.js';
import { InjectionError } from './errors.js';
import type { JsonObject } from './types.js';

// ---- exact quantities ----

/** A Kubernetes quantity as a whole number of nano-units (the API server rounds finer values up). */
type Nanos = bigint;

const binaryPowers: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const decimalExponents: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const quantityPattern = /^([+-]?)(\d*)(?:\.(\d*))?(?:([KMGTPE]i)|([numkMGTPE])|[eE]([+-]?\d+))?$/;

/** The quantity in nano-units, rounded up; undefined when `value` is not a Kubernetes quantity. */
export function parseQuantity(value: unknown): Nanos | undefined {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const match = quantityPattern.exec(text);
  if (match === null) return undefined;
  const [, sign = '', whole = '', fraction = '', binary, decimal, exponent] = match;
  if (whole === '' && fraction === '') return undefined;
  let numerator = BigInt(`${whole}${fraction}` || '0');
  let denominator = 10n ** BigInt(fraction.length);
  if (binary !== undefined) numerator *= 2n ** BigInt(binaryPowers[binary] ?? 0);
  const power = 9 + (binary !== undefined ? 0 : exponent !== undefined ? Number(exponent) : (decimalExponents[decimal ?? ''] ?? 0));
  if (power >= 0) numerator *= 10n ** BigInt(power);
  else denominator *= 10n ** BigInt(-power);
  const rounded = (numerator + denominator - 1n) / denominator;
  return sign === '-' ? -rounded : rounded;
}

const nano = 1_000_000_000n;

/** Canonical text of a non-negative quantity: cpu in cores or m, other resources with a binary suffix when whole. */
export function formatQuantity(value: Nanos, resource: string): string {
  if (value % nano !== 0n) {
    for (const [unit, size] of [['m', 1_000_000n], ['u', 1_000n], ['n', 1n]] as const) {
      if (value % size === 0n) return `${value / size}${unit}`;
    }
  }
  const units = value / nano;
  if (resource !== 'cpu' && units > 0n) {
    for (const [suffix, bits] of Object.entries(binaryPowers).reverse()) {
      const size = 2n ** BigInt(bits);
      if (units % size === 0n) return `${units / size}${suffix}`;
    }
  }
  return String(units);
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

export interface PaddedResources {
  /** The pod's new spec.resources. */
  readonly resources: JsonObject;
  /** The pod's own spec.resources, for the status record. */
  readonly original: JsonObject;
}

/**
 * The pod-level resources of `after` (the injected spec) made valid again, or undefined when the
 * pod sets none or needs no change. `before` is the spec without the injection; `addedRegular`
 * names the containers injection put in spec.containers (their limits must fit the pod's).
 */
export function padPodResources(before: JsonObject, after: JsonObject, addedRegular: readonly string[]): PaddedResources | undefined {
  const original = before.resources;
  if (!isPlainObject(original)) return undefined;
  const requests = amountsOf(original, 'requests', 'spec.resources');
  const limits = amountsOf(original, 'limits', 'spec.resources');
  if (requests.size === 0 && limits.size === 0) return undefined;
  const was = aggregateRequests(before);
  const now = aggregateRequests(after);
  const newRequests = new Map(requests);
  const newLimits = new Map(limits);
  for (const [resource, total] of now) {
    const grown = total - (was.get(resource) ?? 0n);
    if (grown <= 0n) continue;
    const request = requests.get(resource);
    if (request !== undefined) newRequests.set(resource, request + grown);
    // Without a pod-level request the API server derives one after admission (1.37: the containers'
    // requests together, as here), which must stay within the limit: the limit grows to it.
    else if (total > (limits.get(resource) ?? total)) newLimits.set(resource, total);
  }
  for (const [resource, limit] of limits) {
    const request = newRequests.get(resource);
    let needed = request !== undefined && request > limit ? request : limit;
    for (const [i, c] of listOf(after, 'containers').entries()) {
      if (!isPlainObject(c) || typeof c.name !== 'string' || !addedRegular.includes(c.name)) continue;
      const own = amountsOf(c.resources, 'limits', `spec.containers[${i}].resources`).get(resource);
      if (own !== undefined && own > needed) needed = own;
    }
    if (needed > (newLimits.get(resource) ?? 0n)) newLimits.set(resource, needed);
  }
  const changed = (from: Amounts, to: Amounts): boolean => [...to].some(([resource, value]) => from.get(resource) !== value);
  if (!changed(requests, newRequests) && !changed(limits, newLimits)) return undefined;
  const resources: JsonObject = { ...original };
  for (const [kind, from, to] of [['requests', requests, newRequests], ['limits', limits, newLimits]] as const) {
    if (!changed(from, to)) continue;
    const section: JsonObject = { ...(original[kind] as JsonObject) };
    for (const [resource, value] of to) if (from.get(resource) !== value) section[resource] = formatQuantity(value, resource);
    resources[kind] = section;
  }
  return { resources, original };
}
