// Prometheus metrics for the admission webhook. Each app gets its own Registry (never the global
// one), so tests and the benchmark can build many apps in one process without name clashes.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Error kinds counted in pillion_admission_errors_total{kind}. Documented in docs/webhook.md. */
export type AdmissionErrorKind =
  | 'malformed'
  | 'too-large'
  | 'unsupported-media-type'
  | 'invalid-annotation'
  | 'internal'
  | 'namespace-lookup'
  | 'not-ready';

export interface WebhookMetrics {
  readonly registry: Registry;
  readonly requests: Counter;
  readonly injections: Counter;
  readonly skips: Counter<'reason'>;
  readonly errors: Counter<'kind'>;
  readonly duration: Histogram;
  readonly cacheHits: Counter;
}

/**
 * Latency buckets in seconds. An injection takes well under a millisecond of CPU, so the low end
 * must resolve 0.1 ms steps: a coarse default bucket set (5 ms first) would hide every regression.
 */
export const latencyBuckets: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

export function createWebhookMetrics(options: { processMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (options.processMetrics === true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'pillion_admission_requests_total',
      help: 'AdmissionReview requests received on /inject, whatever their outcome.',
      registers: [registry],
    }),
    injections: new Counter({
      name: 'pillion_injections_total',
      help: 'Pods answered with an injection patch.',
      registers: [registry],
    }),
    skips: new Counter({
      name: 'pillion_skips_total',
      help: 'Pods allowed unchanged, by skip reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'pillion_admission_errors_total',
      help: 'Requests answered with an error or a denial, by kind.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    cacheHits: new Counter({
      name: 'pillion_decision_cache_hits_total',
      help: 'Reviews answered from a remembered decision for an identical pod (e.g. ReplicaSet replicas).',
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'pillion_admission_duration_seconds',
      help: 'Time from receiving an /inject request to sending its answer.',
      buckets: [...latencyBuckets],
      registers: [registry],
    }),
  };
}

/** What one answer counts as: a verdict's decision and reason, or an error of the transport. */
export interface CountedAnswer {
  readonly decision: 'injected' | 'skipped' | 'denied' | 'error';
  /** Skip reason of a skip; error kind of a denial or error. */
  readonly reason?: string | undefined;
  /** Answered from the decision cache. */
  readonly cached: boolean;
}

/** Count one answer: the only place the decision counters move. */
export function countAnswer(metrics: WebhookMetrics, answer: CountedAnswer): void {
  if (answer.cached) metrics.cacheHits.inc();
  if (answer.decision === 'injected') metrics.injections.inc();
  else if (answer.decision === 'skipped') metrics.skips.inc({ reason: answer.reason ?? 'unknown' });
  else metrics.errors.inc({ kind: answer.reason ?? 'internal' });
}

/** Count one /inject request, whatever its answer, and how long it took. */
export function countRequest(metrics: WebhookMetrics, seconds: number): void {
  metrics.requests.inc();
  metrics.duration.observe(seconds);
}
