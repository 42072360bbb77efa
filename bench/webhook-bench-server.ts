// Server side of bench/webhook-load.ts, one process per measured server so its RSS is its own.
// argv: <pillion|ceiling> <certFile> <keyFile> <podFile>. Prints {"port":N} when listening; on
// SIGTERM closes and prints {"maxRssBytes":N}. Logs (pillion's structured JSON) go to stderr.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import fastify from 'fastify';
import { injectPod } from '../injector/core/inject.js';
import type { JsonObject } from '../injector/core/types.js';
import { unknownNamespaceLookup } from '../injector/webhook/namespace-lookup.js';
import { buildPatchedResponse } from '../injector/webhook/review.js';
import { startWebhookServer } from '../injector/webhook/server.js';
import { loadSetup } from '../injector/webhook/setup-source.js';

const [mode, certFile = '', keyFile = '', podFile = ''] = process.argv.slice(2);

async function startCeiling(): Promise<{ port: number; close: () => Promise<void> }> {
  // The ceiling: the same TLS, fastify and JSON body parsing, answering a fixed AdmissionReview of
  // the same size as a real injection, with no decision made.
  const pod = JSON.parse(readFileSync(podFile, 'utf8')) as JsonObject;
  const result = injectPod(pod, { namespace: 'shop', namespaceLabels: undefined, mode: 'policy' }, loadSetup({}));
  if (result.kind !== 'injected') throw new Error('benchmark pod was not injected');
  const fixed = JSON.stringify(buildPatchedResponse('fixed-uid', JSON.stringify(result.patch), result.warnings));
  const app = fastify({ https: { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' }, logger: false });
  app.post('/inject', (_request, reply) => reply.type('application/json').send(fixed));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

async function startPillion(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = await startWebhookServer({
    certFile,
    keyFile,
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'info', stream: process.stderr },
    namespaceLookup: unknownNamespaceLookup,
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
