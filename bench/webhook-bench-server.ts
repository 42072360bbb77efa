// Server side of bench/webhook-load.ts, one process per measured server so its RSS is its own.
// argv: <pillion|ceiling> <certFile> <keyFile> <podFile>. Prints {"port":N} when listening; on
// SIGTERM closes and prints {"maxRssBytes":N}. Logs (pillion's structured JSON) go to stderr.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import fastify from 'fastify';
import { injectPod } from '../injector/core/inject.js';
import type { JsonObject } from '../injector/core/types.js';
import { createWebhookMetrics } from '../injector/webhook/metrics.js';
import { unknownNamespaceLookup } from '../injector/webhook/namespace-lookup.js';
import { patchedAnswer, prepareReviewResponse } from '../injector/webhook/review.js';
import { startWebhookServer } from '../injector/webhook/server.js';
import { loadSetup } from '../injector/core/setup.js';

const [mode, certFile = '', keyFile = '', podFile = ''] = process.argv.slice(2);

interface Running {
  port: number;
  close: () => Promise<void>;
}

async function startCeiling(): Promise<Running> {
  // The ceiling: the same TLS, fastify and JSON body parsing, answering a fixed AdmissionReview of
  // the same size as a real injection, with no decision made (and the same latency histogram).
  const pod = JSON.parse(readFileSync(podFile, 'utf8')) as JsonObject;
  const result = injectPod(pod, { namespace: 'shop', namespaceLabels: undefined, mode: 'policy' }, loadSetup({}));
  if (result.kind !== 'injected') throw new Error('benchmark pod was not injected');
  const fixed = prepareReviewResponse(patchedAnswer(JSON.stringify(result.patch), result.warnings))('705ab4f5-6393-11e8-b7cc-42010a800002');
  const app = fastify({ https: { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' }, logger: false });
  app.post('/inject', (_request, reply) => reply.type('application/json').send(fixed));
  // The same latency histogram as pillion's, so server-side latency is measured alike on both.
  const metrics = createWebhookMetrics();
  app.addHook('onResponse', (request, reply, done) => {
    if (request.routeOptions.url === '/inject') metrics.duration.observe(reply.elapsedTime / 1000);
    done();
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

async function startPillion(): Promise<Running> {
  const server = await startWebhookServer({
    certFile,
    keyFile,
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'info', stream: process.stderr },
    namespaceLookup: unknownNamespaceLookup,
    // BENCH_DECISION_CACHE=0 measures pillion with the decision cache off.
    ...(process.env.BENCH_DECISION_CACHE === undefined ? {} : { decisionCacheEntries: Number(process.env.BENCH_DECISION_CACHE) }),
  });
  return { port: server.port, close: () => server.close() };
}

const server = mode === 'ceiling' ? await startCeiling() : await startPillion();
process.stdout.write(JSON.stringify({ port: server.port }) + '\n');
process.once('SIGTERM', () => {
  void server.close().then(() => {
    // resourceUsage().maxRSS is in kilobytes.
    process.stdout.write(JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
    process.exit(0);
  });
});
