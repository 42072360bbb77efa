// Remembered admission decisions. A ReplicaSet, Job or StatefulSet scale-up sends the API server's
// webhook call once per replica with the same pod (generateName, no name, no uid yet), and the
// decision is a pure function of what the key below covers — so from the third replica on (the
// second stores it) a review costs a hash and a lookup instead of a render, a merge, a diff and
// two serialisations.
//
// Correctness rests on the key holding every input of the decision: the pod object, the
// namespace and its labels, the operation and subresource, and the setup (config + templates) in
// force. The request uid is deliberately outside it; it is spliced into the answer per request.
import { hash } from 'node:crypto';
import type { InjectorSetup, JsonObject } from '../core/types.js';
import { defaultDecisionCacheEntries } from './defaults.js';
import type { ReviewEncoder } from './review.js';

/** What a decision did, enough to count it, log it and answer it again. */
export interface Verdict {
  readonly decision: 'injected' | 'skipped' | 'denied' | 'error';
  /** Skip reason (skips) or error kind (denials, errors), for metrics and logs. */
  readonly reason?: string;
  /** Decision-specific structured log fields. */
  readonly log: Readonly<Record<string, unknown>>;
  readonly encode: ReviewEncoder;
}

export interface DecisionInputs {
  readonly object: JsonObject;
  readonly namespace: string | undefined;
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
  readonly operation: string;
  readonly subResource: string | undefined;
  /** The request body as received, if known: hashing it spares re-serialising the pod. */
  readonly rawBody?: string;
}

// The API server (Go's encoding/json, struct field order) starts every AdmissionReview like this.
// When a body starts so and the uid is plain UUID characters, everything after the uid's closing
// quote determines the parsed review apart from request.uid — which no decision depends on — so
// that suffix can stand for the inputs without serialising the pod again. Any other body takes the
// slower, equally exact path of serialising the parsed inputs.
const apiServerPrefix = /^\{"kind":"AdmissionReview","apiVersion":"admission\.k8s\.io\/v1","request":\{"uid":"[0-9A-Za-z-]{1,64}"/;

export interface DecisionCache {
  /** Key for these inputs under `setup`; distinct setups never share keys. */
  keyOf(setup: InjectorSetup, inputs: DecisionInputs): string;
  get(key: string): Verdict | undefined;
  set(key: string, verdict: Verdict): void;
  readonly size: number;
}


/**
 * A least-recently-used cache of at most `maxEntries` verdicts, each stored the second time its
 * key is set (see set); 0 disables it (never stores).
 */
export function createDecisionCache(maxEntries: number = defaultDecisionCacheEntries): DecisionCache {
  const entries = new Map<string, Verdict>();
  // Keys (about 60 bytes each) of answers computed once and not yet stored.
  const seenOnce = new Set<string>();
  const seenOnceLimit = 4 * maxEntries;
  // Setups are replaced, never mutated, on reload: a new object means new templates or config.
  const setupIds = new WeakMap<InjectorSetup, number>();
  let nextSetupId = 0;
  return {
    keyOf(setup, inputs) {
      let id = setupIds.get(setup);
      if (id === undefined) {
        id = nextSetupId++;
        setupIds.set(setup, id);
      }
      // JSON of the labels never holds a raw newline, so "\n" separates the parts unambiguously.
      const labels = JSON.stringify(inputs.namespaceLabels ?? null);
      const prefix = inputs.rawBody === undefined ? null : apiServerPrefix.exec(inputs.rawBody);
      const review = prefix !== null && inputs.rawBody !== undefined
        ? `raw\n${inputs.rawBody.slice(prefix[0].length)}`
        // JSON of a fixed-shape array is unambiguous whatever the strings hold.
        : `parsed\n${JSON.stringify([inputs.namespace ?? null, inputs.operation, inputs.subResource ?? null, inputs.object])}`;
      // SHA-256 keeps keys small and makes a collision between two different pods infeasible.
      return `${id}:${hash('sha256', `${labels}\n${review}`, 'base64')}`;
    },
    get(key) {
      const verdict = entries.get(key);
      if (verdict !== undefined) {
        // Re-insert: Map iteration order is insertion order, so the first key is the least recent.
        entries.delete(key);
        entries.set(key, verdict);
      }
      return verdict;
    },
    set(key, verdict) {
      if (maxEntries <= 0) return;
      // Only a key seen before earns an entry: a pod that never repeats (a one-replica workload, a
      // bare pod) would otherwise hold its answer until evicted, and a stream of them keeps the
      // heap churning through old-generation collections for nothing. The cost is one more
      // computed answer per repeated pod; the third replica onward is served from memory.
      if (!seenOnce.delete(key)) {
        seenOnce.add(key);
        if (seenOnce.size > seenOnceLimit) {
          const oldest = seenOnce.values().next();
          if (oldest.done !== true) seenOnce.delete(oldest.value);
        }
        return;
      }
      entries.delete(key);
      entries.set(key, verdict);
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done !== true) entries.delete(oldest.value);
      }
    },
    get size() {
      return entries.size;
    },
  };
}
