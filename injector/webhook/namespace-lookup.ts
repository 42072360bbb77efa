// Namespace labels for the injection decision (`pillion.dev/inject=enabled` on a namespace opts it
// in). The AdmissionReview carries only the namespace's name, so the webhook asks the API server,
// through a small TTL cache: a burst of pods from one Deployment rollout must not become a burst of
// GETs, and a label change takes effect within one TTL.
import { isPlainObject } from '../core/json.js';
import { evictOldest } from './bounded.js';
import type { KubeApi } from './kube-api.js';

export interface NamespaceLookup {
  /**
   * Labels of `namespace`; undefined when this webhook has no way to know them (no API server
   * configured). Rejects when asking failed (RBAC, network): the webhook then cannot decide pods
   * that rely on their namespace's label, and says so instead of silently skipping them.
   */
  labelsOf(namespace: string): Promise<Readonly<Record<string, string>> | undefined>;
}

export interface LookupLogger {
  warn(obj: object, msg: string): void;
}

/** Used when the webhook does not run in a cluster: namespace labels are always unknown. */
export const unknownNamespaceLookup: NamespaceLookup = {
  labelsOf: () => Promise.resolve(undefined),
};

/**
 * How long one namespace GET may take. The API server waits for the webhook's answer only
 * `timeoutSeconds` (5 s in deploy/ and the chart); a later answer reaches nobody, and the pod gets
 * a bare timeout instead of the lookup's own error (decideWithoutLabels in admission.ts).
 */
export const namespaceLookupTimeoutMs = 3000;

/** Reads namespaces (GET /api/v1/namespaces/NAME). Failures (RBAC, network) are logged and rejected. */
export function createKubeNamespaceLookup(api: Pick<KubeApi, 'request'>, log: LookupLogger): NamespaceLookup {
  return {
    async labelsOf(namespace) {
      try {
        const ns = await api.request('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}`, { timeoutMs: namespaceLookupTimeoutMs });
        const metadata = isPlainObject(ns) ? ns.metadata : undefined;
        const labels = isPlainObject(metadata) ? metadata.labels : undefined;
        return isPlainObject(labels) ? stringValues(labels) : {};
      } catch (error) {
        log.warn({ namespace, err: String(error) }, 'namespace lookup failed');
        throw new Error(`cannot read namespace ${namespace}: ${firstLine(error)}`, { cause: error });
      }
    },
  };
}

/** Label values are strings; anything else the API server would never send is left out. */
function stringValues(map: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map)) if (typeof value === 'string') out[key] = value;
  return out;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 200) ?? '';
}

/**
 * The lookup to use at start-up: through the API server kube-api.ts found; without one, labels are
 * unknown and only pod annotations/labels and the default policy decide.
 */
export function createDefaultNamespaceLookup(log: LookupLogger, api: KubeApi | undefined): NamespaceLookup {
  if (api === undefined) {
    log.warn({}, 'not in a cluster and no KUBECONFIG: namespace labels are unknown');
    return unknownNamespaceLookup;
  }
  return createKubeNamespaceLookup(api, log);
}

interface CacheEntry {
  readonly expires: number;
  readonly value: Promise<Readonly<Record<string, string>> | undefined>;
}

export interface CacheOptions {
  /** How long an answer is reused. */
  readonly ttlMs?: number;
  /** How long a failed lookup is reused: short, so a transient API error heals quickly. */
  readonly failureTtlMs?: number;
  readonly maxEntries?: number;
  /** Clock, injectable for tests. */
  readonly now?: () => number;
}

/**
 * Caches another lookup. Concurrent requests for one namespace share a single in-flight call.
 * Bounded: when full, the oldest entry is dropped (Map keeps insertion order).
 */
export function createCachedNamespaceLookup(inner: NamespaceLookup, options: CacheOptions = {}): NamespaceLookup {
  const ttlMs = options.ttlMs ?? 10_000;
  const failureTtlMs = options.failureTtlMs ?? 1_000;
  const maxEntries = options.maxEntries ?? 4096;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();
  return {
    labelsOf(namespace) {
      const at = now();
      const hit = cache.get(namespace);
      if (hit !== undefined && hit.expires > at) return hit.value;
      const value = inner.labelsOf(namespace);
      cache.delete(namespace);
      evictOldest(cache, maxEntries - 1);
      const entry: CacheEntry = { expires: at + ttlMs, value };
      cache.set(namespace, entry);
      // A failure is kept only briefly (callers share it meanwhile); the entry is replaced once
      // the call settles.
      value.catch(() => {
        if (cache.get(namespace) === entry) cache.set(namespace, { expires: now() + failureTtlMs, value });
      });
      return value;
    },
  };
}
