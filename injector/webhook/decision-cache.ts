// Remembered admission decisions. A ReplicaSet, Job or StatefulSet scale-up sends the API server's
// webhook call once per replica with the same pod (generateName, no name, no uid yet), and the
// decision is a pure function of what the key below covers — so from the third replica on (the
// second stores it) a review costs a hash and a lookup instead of a JSON parse, a merge, a diff
// and two serialisations.
//
// Correctness rests on the key holding every input of the decision: the pod object, the
// namespace and its labels, the operation and subresource, and the setup (config + templates) in
// force. The request uid is deliberately outside it; it is spliced into the answer per request.
// So are the times (strings) of the pod's managedFields entries: the API server stamps the
// controller's create with the second it happened, so the replicas of one ReplicaSet created in
// different seconds differ only there, and no decision depends on them (the patch never touches
// managedFields, and the depth check finds a string as deep whatever it says). For a body the API
// server wrote, that is all the key leaves out. A body written by anyone else can carry objects
// shaped like such an entry elsewhere (see withoutManagedFieldsTimes); it then shares answers only
// with bodies equal to it but for those objects' times, never with a body the API server wrote.
import { hash } from 'node:crypto';
import { isPlainObject } from '../core/json.js';
import type { InjectorSetup, JsonObject } from '../core/types.js';
import { evictOldest } from './bounded.js';
import { defaultDecisionCacheEntries } from './defaults.js';
import type { ReviewEncoder } from './review.js';
import { dnsLabelPattern } from '../core/names.js';

/** What a decision did, enough to count it, log it and answer it again. */
export interface Verdict {
  readonly decision: 'injected' | 'skipped' | 'denied' | 'error';
  /** Skip reason (skips) or error kind (denials, errors), for metrics and logs. */
  readonly reason?: string;
  /** Decision-specific structured log fields. */
  readonly log: Readonly<Record<string, unknown>>;
  /**
   * Log fields of the request it was decided for (pod name, operation, dry run). For a verdict
   * stored under a raw key (rawKeyOf) they hold for every request that finds it there.
   */
  readonly subject: Readonly<Record<string, unknown>>;
  readonly encode: ReviewEncoder;
}

/** The parsed inputs of a decision (for bodies not in the API server's field order). */
export interface DecisionInputs {
  readonly object: JsonObject;
  readonly namespace: string | undefined;
  readonly operation: string;
  readonly subResource: string | undefined;
}

// The API server (Go's encoding/json, struct field order) starts every AdmissionReview like this.
// When a body starts so and the uid is plain UUID characters, everything after the uid's closing
// quote (the suffix) determines the parsed review apart from request.uid — which no decision
// depends on — so the suffix can stand for the inputs without parsing or serialising the pod.
// Any other body takes the slower, equally exact path of serialising the parsed inputs.
const apiServerPrefix = /^\{"kind":"AdmissionReview","apiVersion":"admission\.k8s\.io\/v1","request":\{"uid":"([0-9A-Za-z-]{1,64})"/;
// In that order request.namespace follows only uid, kind, resource, subResource, requestKind,
// requestResource, requestSubResource and name, none of which has a "namespace" key, and a quote
// inside a JSON string is escaped: the first match is request.namespace. (If a body lacks it, the
// match may be something else; the app stores verdicts under raw keys only when the namespace
// read here is the one the decision used, so a wrong read can only miss, never mislead.)
const requestNamespace = new RegExp(`,"namespace":"(${dnsLabelPattern})"`);

/** A body in the API server's field order, read without parsing it. */
export interface RawReview {
  readonly uid: string;
  /** request.namespace as read from the text (see requestNamespace); undefined if not found. */
  readonly namespace: string | undefined;
  /** Everything after the uid. */
  readonly suffix: string;
}

export function readRawReview(body: string): RawReview | undefined {
  const prefix = apiServerPrefix.exec(body);
  const uid = prefix?.[1];
  if (prefix === null || uid === undefined) return undefined;
  const suffix = body.slice(prefix[0].length);
  return { uid, namespace: requestNamespace.exec(suffix)?.[1], suffix };
}

// The start of a managedFields entry as the API server writes it (Go's field order), up to its
// time's value. In the API server's JSON of a pod nothing else can match: a string's quotes are
// escaped, and fieldsV1's keys start with "f:", "k:", "v:", "i:" or ".". (A body written by anyone
// else may match elsewhere; then it shares a key only with bodies equal to it but for those
// values, which a real API server's body, matching only in managedFields, never is.)
const entryStart = '{"manager":"';
const entryHead = /\{"manager":"(?:[^"\\]|\\.)*","operation":"[A-Za-z]+","apiVersion":"(?:[^"\\]|\\.)*","time":"/y;

/**
 * A review's text with its managedFields entries' times left out (`"time":""`): what the raw key
 * is made of. The same as replacing every match of entryHead followed by a value with a global
 * regular expression (the tests compare them), in 3 µs instead of 4.6 for a 4.5 KB body: the
 * expression is tried only where the literal start of an entry is.
 */
export function withoutManagedFieldsTimes(text: string): string {
  let out = '';
  let from = 0;
  for (let at = text.indexOf(entryStart); at >= 0; at = text.indexOf(entryStart, at + 1)) {
    entryHead.lastIndex = at;
    if (!entryHead.test(text)) continue;
    const valueStart = entryHead.lastIndex;
    const valueEnd = text.indexOf('"', valueStart);
    if (valueEnd < 0) break;
    out += text.slice(from, valueStart);
    from = valueEnd;
    at = valueEnd;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * A pod with its managedFields entries' times left out, for the parsed key: the same rule as the
 * raw key's, on objects. Only a string time of an entry with string manager, operation and
 * apiVersion goes; anything else (a time that is an object, nested however deep) stays in the key.
 */
function podWithoutManagedFieldsTimes(object: JsonObject): JsonObject {
  const metadata = object.metadata;
  if (!isPlainObject(metadata) || !Array.isArray(metadata.managedFields)) return object;
  const timeless = metadata.managedFields.map((entry: unknown) => {
    if (!isPlainObject(entry) || typeof entry.time !== 'string' || typeof entry.manager !== 'string' || typeof entry.operation !== 'string' || typeof entry.apiVersion !== 'string') return entry;
    const { time: _time, ...rest } = entry;
    return rest;
  });
  return { ...object, metadata: { ...metadata, managedFields: timeless } };
}

type NamespaceLabels = Readonly<Record<string, string>> | undefined;

export interface DecisionCache {
  /** Key of a raw body's suffix under `setup` and the namespace's labels (managedFields' times left out). */
  rawKeyOf(setup: InjectorSetup, namespaceLabels: NamespaceLabels, suffix: string): string;
  /** Key of parsed inputs (managedFields' times left out); never equal to a raw key. Distinct setups never share keys. */
  keyOf(setup: InjectorSetup, namespaceLabels: NamespaceLabels, inputs: DecisionInputs): string;
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
  // Keys (about 100 bytes each) of answers computed once and not yet stored.
  const seenOnce = new Set<string>();
  const seenOnceLimit = 4 * maxEntries;
  // Setups are replaced, never mutated, on reload: a new object means new templates or config.
  const setupIds = new WeakMap<InjectorSetup, number>();
  let nextSetupId = 0;
  // The namespace lookup hands out one labels object per namespace until it refreshes it (and
  // never changes one it handed out), so its digest is computed once per object, not per review.
  const labelDigests = new WeakMap<object, string>();
  const labelsDigest = (namespaceLabels: NamespaceLabels): string => {
    if (namespaceLabels === undefined) return '-';
    let digest = labelDigests.get(namespaceLabels);
    if (digest === undefined) {
      digest = hash('sha256', JSON.stringify(namespaceLabels), 'base64');
      labelDigests.set(namespaceLabels, digest);
    }
    return digest;
  };
  const keyFor = (setup: InjectorSetup, namespaceLabels: NamespaceLabels, kind: 'raw' | 'parsed', review: string): string => {
    let id = setupIds.get(setup);
    if (id === undefined) {
      id = nextSetupId++;
      setupIds.set(setup, id);
    }
    // Fixed-length digests (and a setup id and kind without ":") make the parts unambiguous.
    // SHA-256 keeps keys small and makes a collision between two different pods infeasible; the
    // review text is hashed as it is (a raw body's suffix is a slice of the body, never copied).
    return `${id}:${kind}:${labelsDigest(namespaceLabels)}:${hash('sha256', review, 'base64')}`;
  };
  return {
    rawKeyOf(setup, namespaceLabels, suffix) {
      return keyFor(setup, namespaceLabels, 'raw', withoutManagedFieldsTimes(suffix));
    },
    keyOf(setup, namespaceLabels, inputs) {
      // JSON of a fixed-shape array is unambiguous whatever the strings hold.
      const object = podWithoutManagedFieldsTimes(inputs.object);
      return keyFor(setup, namespaceLabels, 'parsed', JSON.stringify([inputs.namespace ?? null, inputs.operation, inputs.subResource ?? null, object]));
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
        evictOldest(seenOnce, seenOnceLimit);
        return;
      }
      entries.delete(key);
      entries.set(key, verdict);
      evictOldest(entries, maxEntries);
    },
    get size() {
      return entries.size;
    },
  };
}
