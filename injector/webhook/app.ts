// The admission webhook's HTTP side as a fastify app: status codes, body limits, media types, log
// lines and metrics. What to answer is admission.ts's. The app never listens: the server module
// (server.ts) owns TLS, reloads and signals; tests drive this app with app.inject() and the server
// over real HTTPS.
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer, ServerOptions as HttpsOptions } from 'node:https';
import fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyHttpsOptions, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { injectPod } from '../core/inject.js';
import { createAdmission } from './admission.js';
import type { Admission, InjectFn, ReviewOutcome } from './admission.js';
import { countAnswer, countRequest, createWebhookMetrics } from './metrics.js';
import type { AdmissionErrorKind, WebhookMetrics } from './metrics.js';
import { unknownNamespaceLookup } from './namespace-lookup.js';
import type { NamespaceLookup } from './namespace-lookup.js';
import { createDecisionCache } from './decision-cache.js';
import { defaultBodyLimit } from './defaults.js';
import type { DecisionCache } from './decision-cache.js';
import type { SetupSource } from './setup-source.js';

export type { InjectFn } from './admission.js';

export interface Readiness {
  readonly ready: boolean;
  /** What is still missing, for the /readyz body. */
  readonly waitingFor: readonly string[];
}

/** What the HTTP side is made of before it has routes. */
export interface WebhookHttpOptions {
  readonly bodyLimit?: number;
  /** fastify logger options, a pino logger, or false. Default: JSON logs at info on stderr. */
  readonly logger?: FastifyServerOptions['logger'] | FastifyBaseLogger;
  /** TLS options: given by the server module only. */
  readonly https?: HttpsOptions;
}

/** What the routes answer with. */
export interface InjectorRoutes {
  readonly admission: Admission;
  readonly setup: SetupSource;
  readonly metrics: WebhookMetrics;
  /** Extra readiness conditions (the server adds "not shutting down"). Setup is always checked. */
  readonly readiness?: () => Readiness;
}

/** Everything at once, with defaults: what tests and the benchmark build. */
export interface InjectorAppDeps extends WebhookHttpOptions {
  readonly setup: SetupSource;
  readonly namespaceLookup?: NamespaceLookup;
  readonly readiness?: () => Readiness;
  /** The injection function; the core's injectPod unless a test substitutes a failing one. */
  readonly inject?: InjectFn;
  readonly metrics?: WebhookMetrics;
  /** Remembered decisions for identical reviews; default: createDecisionCache() with its bound. */
  readonly decisionCache?: DecisionCache;
}

export type InjectorApp = FastifyInstance<HttpServer | HttpsServer>;

interface ErrorBody {
  readonly statusCode: number;
  readonly error: string;
  readonly message: string;
}

/** Build the app. Routes: POST /inject, GET /healthz, GET /readyz, GET /metrics. */
export function buildInjectorApp(deps: InjectorAppDeps): InjectorApp {
  const admission = createAdmission({
    setup: deps.setup,
    namespaceLookup: deps.namespaceLookup ?? unknownNamespaceLookup,
    inject: deps.inject ?? injectPod,
    cache: deps.decisionCache ?? createDecisionCache(),
  });
  const routes = { admission, setup: deps.setup, metrics: deps.metrics ?? createWebhookMetrics() };
  return addInjectorRoutes(createWebhookHttp(deps), deps.readiness === undefined ? routes : { ...routes, readiness: deps.readiness });
}

/**
 * The fastify instance without routes: its logger exists from here on, for the dependencies the
 * routes need (the server's namespace lookup and reloaders log through it).
 */
export function createWebhookHttp(options: WebhookHttpOptions): InjectorApp {
  const logOption = options.logger ?? { level: 'info', stream: process.stderr };
  const fastifyOptions: FastifyServerOptions = {
    bodyLimit: options.bodyLimit ?? defaultBodyLimit,
    // One structured line per review (below) says more than fastify's two per request.
    logController: new LogController({ disableRequestLogging: true }),
    // The API server's default webhook timeout is 10 s; a request still unanswered at 30 s is dead.
    requestTimeout: 30_000,
    ...(isLoggerInstance(logOption) ? { loggerInstance: logOption } : { logger: logOption }),
  };
  const app = (options.https === undefined
    ? fastify(fastifyOptions)
    : fastify({ ...fastifyOptions, https: options.https } as FastifyHttpsOptions<HttpsServer>)) as unknown as InjectorApp;
  // Only JSON is an AdmissionReview; every other media type (text/plain included) gets 415. The
  // body is handed over as text and parsed by the admission: a repeated review is answered from
  // the decision cache without being parsed at all.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    // parseAs 'string' always hands over text; the Buffer arm of the type is for 'buffer'.
    done(null, typeof body === 'string' ? body : body.toString('utf8'));
  });
  return app;
}

/** Add the routes to an app from createWebhookHttp. Every /inject answer passes through answer(). */
export function addInjectorRoutes(app: InjectorApp, routes: InjectorRoutes): InjectorApp {
  const { admission, metrics } = routes;
  const parseJson = app.getDefaultJsonParser('error', 'error');
  /** fastify's JSON parsing (400 on syntax errors, an empty body or __proto__ keys), as a promise. */
  const parseBody = (request: FastifyRequest, text: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      void parseJson(request, text, (error, value) => (error === null ? resolve(value) : reject(error)));
    });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, kind } = classifyError(error);
    countAnswer(metrics, { decision: 'error', reason: kind, cached: false });
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.warn({ code: error.code, reason: error.message }, 'rejected request');
    return reply.code(status).send(errorBody(status, error.message));
  });

  app.addHook('onResponse', (request, reply, done) => {
    if (request.routeOptions.url === '/inject') countRequest(metrics, reply.elapsedTime / 1000);
    done();
  });

  app.post('/inject', async (request, reply) => {
    const outcome = await admission.review(request.body as string, (text) => parseBody(request, text));
    return answer(outcome, request.log, reply);
  });

  /** Count, log and send one review's outcome. */
  function answer(outcome: ReviewOutcome, log: FastifyBaseLogger, reply: FastifyReply): FastifyReply {
    switch (outcome.kind) {
      case 'answered': {
        const { verdict, cached } = outcome;
        countAnswer(metrics, { decision: verdict.decision, reason: verdict.reason, cached });
        const fields = { uid: outcome.uid, namespace: outcome.namespace, ...outcome.subject, decision: verdict.decision, cached, ...verdict.log };
        if (verdict.decision === 'error') log.error(fields, 'admission');
        else log.info(fields, 'admission');
        return reply.code(200).type(answerType).send(verdict.encode(outcome.uid));
      }
      case 'malformed':
        countAnswer(metrics, { decision: 'error', reason: 'malformed', cached: false });
        log.warn({ uid: outcome.uid, reason: outcome.message }, 'malformed AdmissionReview');
        return reply.code(400).send(errorBody(400, outcome.message));
      case 'not-ready':
        countAnswer(metrics, { decision: 'error', reason: 'not-ready', cached: false });
        return reply.code(503).send(errorBody(503, outcome.message));
    }
  }

  app.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }));

  app.get('/readyz', (_request, reply) => {
    const waitingFor: string[] = [];
    if (routes.setup.current() === undefined) waitingFor.push('configuration and templates');
    if (routes.readiness !== undefined) waitingFor.push(...routes.readiness().waitingFor);
    return reply.code(waitingFor.length === 0 ? 200 : 503).send({ ready: waitingFor.length === 0, waitingFor });
  });

  app.get('/metrics', async (_request, reply: FastifyReply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  return app;
}

const answerType = 'application/json; charset=utf-8';

function isLoggerInstance(option: WebhookHttpOptions['logger']): option is FastifyBaseLogger {
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
