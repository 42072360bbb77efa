// The admission webhook as a fastify app. It never listens: the server module (server.ts) owns
// TLS, reloads and signals; tests drive this app with app.inject() and the server over real HTTPS.
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer, ServerOptions as HttpsOptions } from 'node:https';
import fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyHttpsOptions, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { injectPod } from '../core/inject.js';
import { stringifyJson } from '../core/json-text.js';
import { InjectionError } from '../core/types.js';
import type { InjectorSetup, InjectResult, JsonObject, InjectContext } from '../core/types.js';
import { createWebhookMetrics } from './metrics.js';
import type { AdmissionErrorKind, WebhookMetrics } from './metrics.js';
import { unknownNamespaceLookup } from './namespace-lookup.js';
import type { NamespaceLookup } from './namespace-lookup.js';
import { createDecisionCache, readRawReview } from './decision-cache.js';
import { defaultBodyLimit } from './defaults.js';
import type { DecisionCache, Verdict } from './decision-cache.js';
import {
  MalformedReviewError,
  allowedAnswer,
  deniedAnswer,
  describePod,
  parsePodAdmission,
  patchedAnswer,
  peekUid,
  prepareReviewResponse,
} from './review.js';
import type { AdmissionAnswer, PodAdmission } from './review.js';

export type InjectFn = (pod: JsonObject, ctx: InjectContext, setup: InjectorSetup) => InjectResult;

/** Where the current injector setup (config + templates) comes from; undefined until loaded. */
export interface SetupSource {
  current(): InjectorSetup | undefined;
}

export interface Readiness {
  readonly ready: boolean;
  /** What is still missing, for the /readyz body. */
  readonly waitingFor: readonly string[];
}

export interface InjectorAppDeps {
  readonly setup: SetupSource;
  readonly namespaceLookup?: NamespaceLookup;
  /** Extra readiness conditions (the server adds "certificates loaded"). Setup is always checked. */
  readonly readiness?: () => Readiness;
  /** The injection function; the core's injectPod unless a test substitutes a failing one. */
  readonly inject?: InjectFn;
  readonly bodyLimit?: number;
  /** fastify logger options, a pino logger, or false. Default: JSON logs at info on stderr. */
  readonly logger?: FastifyServerOptions['logger'] | FastifyBaseLogger;
  readonly metrics?: WebhookMetrics;
  /** Remembered decisions for identical reviews; default: createDecisionCache() with its bound. */
  readonly decisionCache?: DecisionCache;
  /** TLS options: given by the server module only. */
  readonly https?: HttpsOptions;
}

export type InjectorApp = FastifyInstance<HttpServer | HttpsServer>;

interface ErrorBody {
  readonly statusCode: number;
  readonly error: string;
  readonly message: string;
}

/** Build the app. Routes: POST /inject, GET /healthz, GET /readyz, GET /metrics. */
export function buildInjectorApp(deps: InjectorAppDeps): InjectorApp {
  const metrics = deps.metrics ?? createWebhookMetrics();
  const lookup = deps.namespaceLookup ?? unknownNamespaceLookup;
  const inject = deps.inject ?? injectPod;
  const cache = deps.decisionCache ?? createDecisionCache();
  const logOption = deps.logger ?? { level: 'info', stream: process.stderr };
  const options: FastifyServerOptions = {
    bodyLimit: deps.bodyLimit ?? defaultBodyLimit,
    // One structured line per review (below) says more than fastify's two per request.
    logController: new LogController({ disableRequestLogging: true }),
    // The API server's default webhook timeout is 10 s; a request still unanswered at 30 s is dead.
    requestTimeout: 30_000,
    ...(isLoggerInstance(logOption) ? { loggerInstance: logOption } : { logger: logOption }),
  };
  const app = (deps.https === undefined
    ? fastify(options)
    : fastify({ ...options, https: deps.https } as FastifyHttpsOptions<HttpsServer>)) as unknown as InjectorApp;

  // Only JSON is an AdmissionReview; every other media type (text/plain included) gets 415. The
  // body is handed over as text and parsed by the route: a repeated review is answered from the
  // decision cache without being parsed at all (see lookUpRaw).
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    // parseAs 'string' always hands over text; the Buffer arm of the type is for 'buffer'.
    done(null, typeof body === 'string' ? body : body.toString('utf8'));
  });
  /** fastify's JSON parsing (400 on syntax errors, an empty body or __proto__ keys), as a promise. */
  const parseBody = (request: FastifyRequest, text: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      void parseJson(request, text, (error, value) => (error === null ? resolve(value) : reject(error)));
    });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, kind } = classifyError(error);
    metrics.errors.inc({ kind });
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.warn({ code: error.code, reason: error.message }, 'rejected request');
    return reply.code(status).send(errorBody(status, error.message));
  });

  app.addHook('onResponse', (request, reply, done) => {
    if (request.routeOptions.url === '/inject') {
      metrics.requests.inc();
      metrics.duration.observe(reply.elapsedTime / 1000);
    }
    done();
  });

  app.post('/inject', async (request, reply) => {
    const text = request.body as string;
    const setup = deps.setup.current();
    const rawAttempt = setup === undefined ? undefined : await lookUpRaw(text, setup);
    if (rawAttempt?.known !== undefined) {
      const known = rawAttempt.known;
      metrics.cacheHits.inc();
      record(known, { uid: rawAttempt.uid, namespace: rawAttempt.namespace, ...known.subject }, true, request.log);
      return reply.code(200).type(answerType).send(known.encode(rawAttempt.uid));
    }
    let review: PodAdmission;
    const body = await parseBody(request, text);
    try {
      review = parsePodAdmission(body);
    } catch (error) {
      if (!(error instanceof MalformedReviewError)) throw error;
      metrics.errors.inc({ kind: 'malformed' });
      request.log.warn({ uid: peekUid(body), reason: error.message }, 'malformed AdmissionReview');
      return reply.code(400).send(errorBody(400, error.message));
    }
    if (setup === undefined) {
      // Cannot happen behind the server (it loads before listening); an HTTP error lets the API
      // server's failurePolicy decide, as for an unreachable webhook.
      metrics.errors.inc({ kind: 'not-ready' });
      return reply.code(503).send(errorBody(503, 'injector configuration and templates are not loaded yet'));
    }
    const { verdict, cached } = await decide(review, setup, rawAttempt);
    record(verdict, { uid: review.uid, namespace: review.namespace, ...subjectOf(review) }, cached, request.log);
    return reply.code(200).type(answerType).send(verdict.encode(review.uid));
  });

  /**
   * For a body in the API server's field order, its raw key and the verdict stored under it. A hit
   * means the body is the API server's prefix (checked) and a suffix identical to that of a review
   * parsed, checked and decided before, so it can be answered without parsing.
   */
  async function lookUpRaw(text: string, setup: InjectorSetup): Promise<RawAttempt | undefined> {
    const raw = readRawReview(text);
    if (raw?.namespace === undefined) return undefined;
    let namespaceLabels: Readonly<Record<string, string>> | undefined;
    try {
      namespaceLabels = await lookup.labelsOf(raw.namespace);
    } catch {
      return undefined; // decide asks again, and answers the failure
    }
    const key = cache.rawKeyOf(setup, namespaceLabels, raw.suffix);
    return { uid: raw.uid, namespace: raw.namespace, namespaceLabels, key, known: cache.get(key) };
  }

  async function decide(review: PodAdmission, setup: InjectorSetup, rawAttempt: RawAttempt | undefined): Promise<{ verdict: Verdict; cached: boolean }> {
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
        namespaceLabels = await lookup.labelsOf(namespace);
      } catch (error) {
        return { verdict: decideWithoutLabels(object, namespace, setup, subjectOf(review), errorMessage(error)), cached: false };
      }
    }
    const key = raw?.key ?? cache.keyOf(setup, namespaceLabels, { object, namespace, operation: review.operation, subResource: review.subResource });
    const known = cache.get(key);
    if (known !== undefined) {
      metrics.cacheHits.inc();
      return { verdict: known, cached: true };
    }
    const verdict = decideFresh(object, { namespace, namespaceLabels, mode: 'policy' }, setup, subjectOf(review));
    // An internal error may be transient (or a bug being fixed by a reload): never remember it.
    if (verdict.decision !== 'error') cache.set(key, verdict);
    return { verdict, cached: false };
  }

  /**
   * The namespace's labels could not be read. A pod that decides for itself (its own opt-in or
   * opt-out, a system namespace, …) is decided as usual, and not remembered; one whose fate rests
   * on its namespace's label gets an error, so the webhook's failurePolicy decides — never a silent
   * skip of a pod in an opted-in namespace.
   */
  function decideWithoutLabels(pod: JsonObject, namespace: string, setup: InjectorSetup, subject: Verdict['subject'], why: string): Verdict {
    const verdict = decideFresh(pod, { namespace, namespaceLabels: undefined, mode: 'policy' }, setup, subject);
    if (verdict.decision !== 'skipped' || verdict.reason !== 'not-opted-in') return verdict;
    const message = `pillion injector: the labels of namespace ${namespace} decide whether this pod gets a sidecar, and they cannot be read (${why})`;
    return verdictOf('error', deniedAnswer(500, message), { reason: message }, subject, 'namespace-lookup');
  }

  function decideFresh(pod: JsonObject, ctx: InjectContext, setup: InjectorSetup, subject: Verdict['subject']): Verdict {
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
    if (result.kind === 'skipped') {
      return verdictOf('skipped', allowedAnswer(result.warnings), { reason: result.reason, detail: result.detail }, subject, result.reason);
    }
    const answer = result.patch.length === 0 ? allowedAnswer(result.warnings) : patchedAnswer(stringifyJson(result.patch), result.warnings);
    return verdictOf('injected', answer, { templates: result.templates, warnings: result.warnings.length }, subject);
  }

  /** Count and log one answered review, whether decided now or remembered. */
  function record(verdict: Verdict, request: Record<string, unknown>, cached: boolean, log: FastifyBaseLogger): void {
    const fields = { ...request, decision: verdict.decision, cached, ...verdict.log };
    // verdictOf gives a skip its reason, and a denial or error its error kind.
    if (verdict.decision === 'injected') metrics.injections.inc();
    else if (verdict.decision === 'skipped') metrics.skips.inc({ reason: verdict.reason ?? 'unknown' });
    else metrics.errors.inc({ kind: verdict.reason ?? 'internal' });
    if (verdict.decision === 'error') log.error(fields, 'admission');
    else log.info(fields, 'admission');
  }

  app.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }));

  app.get('/readyz', (_request, reply) => {
    const waitingFor: string[] = [];
    if (deps.setup.current() === undefined) waitingFor.push('configuration and templates');
    if (deps.readiness !== undefined) waitingFor.push(...deps.readiness().waitingFor);
    return reply.code(waitingFor.length === 0 ? 200 : 503).send({ ready: waitingFor.length === 0, waitingFor });
  });

  app.get('/metrics', async (_request, reply: FastifyReply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  return app;
}

const answerType = 'application/json; charset=utf-8';

/** A raw-body key tried before parsing, what it was computed from, and what it found. */
interface RawAttempt {
  readonly uid: string;
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
  readonly key: string;
  readonly known: Verdict | undefined;
}

const notCreate: Verdict = verdictOf('skipped', allowedAnswer([]), { reason: 'not-create' }, {}, 'not-create');

/** Log fields of a review besides uid and namespace (the same for every identical review). */
function subjectOf(review: PodAdmission): Verdict['subject'] {
  return { pod: describePod(review.object), operation: review.operation, dryRun: review.dryRun };
}

/** `reason`: the skip reason of a skip; the error kind (metrics, docs/webhook.md) of a denial or error. */
function verdictOf(decision: 'injected', answer: AdmissionAnswer, log: Record<string, unknown>, subject: Verdict['subject']): Verdict;
function verdictOf(decision: 'skipped', answer: AdmissionAnswer, log: Record<string, unknown>, subject: Verdict['subject'], reason: string): Verdict;
function verdictOf(decision: 'denied' | 'error', answer: AdmissionAnswer, log: Record<string, unknown>, subject: Verdict['subject'], reason: AdmissionErrorKind): Verdict;
function verdictOf(decision: Verdict['decision'], answer: AdmissionAnswer, log: Record<string, unknown>, subject: Verdict['subject'], reason?: string): Verdict {
  return { decision, log, subject, encode: prepareReviewResponse(answer), ...(reason === undefined ? {} : { reason }) };
}

function isLoggerInstance(option: InjectorAppDeps['logger']): option is FastifyBaseLogger {
  return typeof option === 'object' && option !== null && 'child' in option;
}

function classifyError(error: FastifyError): { status: number; kind: AdmissionErrorKind } {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, kind: 'too-large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, kind: 'unsupported-media-type' };
    default: {
      // JSON syntax errors, empty bodies, bad Content-Length, __proto__ keys: the client's fault.
      const status = error.statusCode ?? 500;
      return status >= 400 && status < 500 ? { status, kind: 'malformed' } : { status: 500, kind: 'internal' };
    }
  }
}

const statusText: Record<number, string> = {
  400: 'Bad Request',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function errorBody(statusCode: number, message: string): ErrorBody {
  return { statusCode, error: statusText[statusCode] ?? 'Error', message };
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
