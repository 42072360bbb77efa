// The webhook's decision on one AdmissionReview, without HTTP: the body's text in, an outcome out
// (the answer and what it was decided from, or why the review cannot be answered). The transport
// (app.ts) turns outcomes into status codes, log lines and metrics; this module owns reading the
// review, the namespace lookup, the decision cache and the call of the injection core.
import { stringifyJson } from '../core/json-text.js';
import { describeName } from '../core/names.js';
import { reportOf } from '../core/report.js';
import { InjectionError } from '../core/errors.js';
import type { InjectContext, InjectorSetup, InjectResult, JsonObject } from '../core/types.js';
import { readRawReview } from './decision-cache.js';
import type { DecisionCache, Verdict } from './decision-cache.js';
import type { AdmissionErrorKind } from './metrics.js';
import type { NamespaceLookup } from './namespace-lookup.js';
import { allowedAnswer, deniedAnswer, parsePodAdmission, patchedAnswer, peekUid, prepareReviewResponse } from './review.js';
import type { AdmissionAnswer, PodAdmission } from './review.js';
import type { SetupSource } from './setup-source.js';
import { WebhookError } from './errors.js';

export type InjectFn = (pod: JsonObject, ctx: InjectContext, setup: InjectorSetup) => InjectResult;

export interface AdmissionDeps {
  readonly setup: SetupSource;
  readonly namespaceLookup: NamespaceLookup;
  /** The injection function: the core's injectPod unless a test substitutes a failing one. */
  readonly inject: InjectFn;
  /** Remembered decisions for identical reviews. */
  readonly cache: DecisionCache;
}

/** JSON parsing of a body the cache could not answer; its rejection is the transport's to answer. */
export type ParseJson = (text: string) => Promise<unknown>;

/** What became of one review. */
export type ReviewOutcome =
  | {
      readonly kind: 'answered';
      readonly uid: string;
      readonly namespace: string | undefined;
      /** Log fields of this request besides uid and namespace (pod name, operation, dry run). */
      readonly subject: Verdict['subject'];
      readonly verdict: Verdict;
      /** Answered from the decision cache. */
      readonly cached: boolean;
    }
  /** Not a usable AdmissionReview for a Pod (HTTP 400). */
  | { readonly kind: 'malformed'; readonly uid: string | undefined; readonly message: string }
  /** Configuration and templates not loaded yet (HTTP 503). */
  | { readonly kind: 'not-ready'; readonly message: string };

export interface Admission {
  review(text: string, parseJson: ParseJson): Promise<ReviewOutcome>;
}

export function createAdmission(deps: AdmissionDeps): Admission {
  return {
    async review(text, parseJson) {
      const setup = deps.setup.current();
      const raw = setup === undefined ? undefined : await lookUpRaw(deps, text, setup);
      if (raw?.known !== undefined) {
        return { kind: 'answered', uid: raw.uid, namespace: raw.namespace, subject: raw.known.subject, verdict: raw.known, cached: true };
      }
      const body = await parseJson(text);
      let review: PodAdmission;
      try {
        review = parsePodAdmission(body);
      } catch (error) {
        if (!(error instanceof WebhookError && error.code === 'malformed-review')) throw error;
        return { kind: 'malformed', uid: peekUid(body), message: error.message };
      }
      // Cannot happen behind the server (it loads before listening); an HTTP error lets the API
      // server's failurePolicy decide, as for an unreachable webhook.
      if (setup === undefined) return { kind: 'not-ready', message: 'injector configuration and templates are not loaded yet' };
      const { verdict, cached } = await decide(deps, review, setup, raw);
      return { kind: 'answered', uid: review.uid, namespace: review.namespace, subject: subjectOf(review), verdict, cached };
    },
  };
}

/** A raw-body key tried before parsing, what it was computed from, and what it found. */
interface RawAttempt {
  readonly uid: string;
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
  readonly key: string;
  readonly known: Verdict | undefined;
}

/**
 * For a body in the API server's field order, its raw key and the verdict stored under it. A hit
 * means the body is the API server's prefix (checked) and a suffix identical to that of a review
 * parsed, checked and decided before, so it can be answered without parsing.
 */
async function lookUpRaw(deps: AdmissionDeps, text: string, setup: InjectorSetup): Promise<RawAttempt | undefined> {
  const raw = readRawReview(text);
  if (raw?.namespace === undefined) return undefined;
  let namespaceLabels: Readonly<Record<string, string>> | undefined;
  try {
    namespaceLabels = await deps.namespaceLookup.labelsOf(raw.namespace);
  } catch {
    return undefined; // decide asks again, and answers the failure
  }
  const key = deps.cache.rawKeyOf(setup, namespaceLabels, raw.suffix);
  return { uid: raw.uid, namespace: raw.namespace, namespaceLabels, key, known: deps.cache.get(key) };
}

async function decide(deps: AdmissionDeps, review: PodAdmission, setup: InjectorSetup, rawAttempt: RawAttempt | undefined): Promise<{ verdict: Verdict; cached: boolean }> {
  // Sidecars are added at creation only; updates, deletes and subresources pass untouched.
  if (review.object === null || review.operation !== 'CREATE' || review.subResource !== undefined) {
    return { verdict: notCreate, cached: false };
  }
  const object = review.object;
  const namespace = review.namespace ?? metadataNamespace(object);
  // The raw key stands for this review only if the namespace read from the text is the real one.
  const raw = rawAttempt !== undefined && rawAttempt.namespace === namespace ? rawAttempt : undefined;
  let namespaceLabels: Readonly<Record<string, string>> | undefined;
  if (raw !== undefined) namespaceLabels = raw.namespaceLabels;
  else if (namespace !== undefined) {
    try {
      namespaceLabels = await deps.namespaceLookup.labelsOf(namespace);
    } catch (error) {
      return { verdict: decideWithoutLabels(deps.inject, object, namespace, setup, subjectOf(review), errorMessage(error)), cached: false };
    }
  }
  const key = raw?.key ?? deps.cache.keyOf(setup, namespaceLabels, { object, namespace, operation: review.operation, subResource: review.subResource });
  const known = deps.cache.get(key);
  if (known !== undefined) return { verdict: known, cached: true };
  const verdict = decideFresh(deps.inject, object, { namespace, namespaceLabels, mode: 'policy' }, setup, subjectOf(review));
  // An internal error may be transient (or a bug being fixed by a reload): never remember it.
  if (verdict.decision !== 'error') deps.cache.set(key, verdict);
  return { verdict, cached: false };
}

/**
 * The namespace's labels could not be read. A pod that decides for itself (its own opt-in or
 * opt-out, a system namespace, …) is decided as usual, and not remembered; one whose fate rests
 * on its namespace's label gets an error, so the webhook's failurePolicy decides — never a silent
 * skip of a pod in an opted-in namespace.
 */
function decideWithoutLabels(inject: InjectFn, pod: JsonObject, namespace: string, setup: InjectorSetup, subject: Verdict['subject'], why: string): Verdict {
  const verdict = decideFresh(inject, pod, { namespace, namespaceLabels: undefined, mode: 'policy' }, setup, subject);
  if (verdict.decision !== 'skipped' || verdict.reason !== 'not-opted-in') return verdict;
  const message = `pillion injector: the labels of namespace ${namespace} decide whether this pod gets a sidecar, and they cannot be read (${why})`;
  return verdictOf('error', deniedAnswer(500, message), { reason: message }, subject, 'namespace-lookup');
}

function decideFresh(inject: InjectFn, pod: JsonObject, ctx: InjectContext, setup: InjectorSetup, subject: Verdict['subject']): Verdict {
  let result: InjectResult;
  try {
    result = inject(pod, ctx, setup);
  } catch (error) {
    if (error instanceof InjectionError) {
      const message = namingAnnotation(error);
      return verdictOf('denied', deniedAnswer(400, message), { annotation: error.annotation, reason: message }, subject, 'invalid-annotation');
    }
    const answer = deniedAnswer(500, `pillion injector internal error: ${errorMessage(error)}`);
    return verdictOf('error', answer, { err: error }, subject, 'internal');
  }
  const report = reportOf(result);
  if (result.kind === 'skipped') {
    return verdictOf('skipped', allowedAnswer(report.warnings), { reason: report.reason, detail: report.detail }, subject, result.reason);
  }
  const answer = result.patch.length === 0 ? allowedAnswer(report.warnings) : patchedAnswer(stringifyJson(result.patch), report.warnings);
  return verdictOf('injected', answer, { templates: report.templates, warnings: report.warnings.length }, subject);
}

const notCreate: Verdict = verdictOf('skipped', allowedAnswer([]), { reason: 'not-create' }, {}, 'not-create');

/** Log fields of a review besides uid and namespace (the same for every identical review). */
function subjectOf(review: PodAdmission): Verdict['subject'] {
  return { pod: describeName(review.object, '?'), operation: review.operation, dryRun: review.dryRun };
}

/** `reason`: the skip reason of a skip; the error kind (metrics, docs/webhook.md) of a denial or error. */
function verdictOf(decision: 'injected', answer: AdmissionAnswer, log: Record<string, unknown>, subject: Verdict['subject']): Verdict;
function verdictOf(decision: 'skipped', answer: AdmissionAnswer, log: Record<string, unknown>, subject: Verdict['subject'], reason: string): Verdict;
function verdictOf(decision: 'denied' | 'error', answer: AdmissionAnswer, log: Record<string, unknown>, subject: Verdict['subject'], reason: AdmissionErrorKind): Verdict;
function verdictOf(decision: Verdict['decision'], answer: AdmissionAnswer, log: Record<string, unknown>, subject: Verdict['subject'], reason?: string): Verdict {
  return { decision, log, subject, encode: prepareReviewResponse(answer), ...(reason === undefined ? {} : { reason }) };
}

function metadataNamespace(pod: JsonObject): string | undefined {
  const metadata = pod.metadata as JsonObject | undefined;
  return typeof metadata?.namespace === 'string' ? metadata.namespace : undefined;
}

/** The denial message must name the annotation even if the core's message does not. */
function namingAnnotation(error: InjectionError): string {
  const annotation = error.annotation;
  if (annotation === undefined || error.message.includes(annotation)) return error.message;
  return `${annotation}: ${error.message}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
