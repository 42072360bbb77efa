// Server side of bench/webhook-load.ts, one process per measured server so that its CPU time and
// RSS (read from /proc by the bench) are its own.
// argv[2]: JSON { mode: 'pillion' | 'ceiling', certFile, keyFile, templatesDir, answersFile?, distRoot? }.
// Prints {"port":N} when listening; on SIGTERM closes and exits.
//
// pillion: the webhook server as `pillion webhook` runs it (startWebhookServer: TLS, reloaders,
// metrics with process metrics, info logs written to stderr through the command's destination),
// from `distRoot` (default: this build; another build's dist/ measures that one in the same run).
// Every namespace carries pillion.dev/inject=enabled, as in a meshed cluster, so pods are decided
// as there.
// ceiling: bare fastify on the same TLS settings that parses every body as JSON (as fastify does),
// takes the uid from it and answers the answer pillion gave for the same pod (answersFile, one per
// body, picked by the x-bench-body header), with the same latency histogram. No decision is made:
// it is what the transport alone costs.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fastify from 'fastify';
import { createWebhookMetrics } from '../injector/webhook/metrics.js';
import type { WebhookServer, WebhookServerOptions } from '../injector/webhook/server.js';
import { repoPath } from '../test/support/paths.js';

export interface BenchServerOptions {
  readonly mode: 'pillion' | 'ceiling';
  readonly certFile: string;
  readonly keyFile: string;
  readonly templatesDir: string;
  /** ceiling: JSON array, per body, of the answer's fields after the uid (text). */
  readonly answersFile?: string;
  /** pillion: the dist/ folder to load the webhook from. */
  readonly distRoot?: string;
}

const options = JSON.parse(process.argv[2] ?? '{}') as BenchServerOptions;

interface Running {
  port: number;
  close: () => Promise<void>;
}

async function startCeiling(): Promise<Running> {
  const tails = (JSON.parse(readFileSync(options.answersFile ?? '', 'utf8')) as string[]).map((fields) => Buffer.from(`,${fields}}}`));
  const head = Buffer.from('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":');
  const app = fastify({ https: { cert: readFileSync(options.certFile), key: readFileSync(options.keyFile), minVersion: 'TLSv1.2' }, logger: false, bodyLimit: 3 * 1024 * 1024 });
  app.post('/inject', (request, reply) => {
    const uid = (request.body as { request: { uid: string } }).request.uid;
    const tail = tails[Number(request.headers['x-bench-body'])];
    if (tail === undefined) return reply.code(400).send({ message: 'unknown x-bench-body' });
    return reply.type('application/json; charset=utf-8').send(Buffer.concat([head, Buffer.from(JSON.stringify(uid)), tail]));
  });
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
  const dist = options.distRoot ?? repoPath('dist');
  const { startWebhookServer } = (await import(pathToFileURL(join(dist, 'injector', 'webhook', 'server.js')).href)) as {
    startWebhookServer: (o: WebhookServerOptions) => Promise<WebhookServer>;
  };
  // The log destination `pillion webhook` gives the server, when the build has one (a baseline
  // build may predate it: then plain stderr, as that build's command did).
  const logStream = await import(pathToFileURL(join(dist, 'injector', 'webhook', 'log-stream.js')).href).then(
    (m: { turnBufferedStream: (target: NodeJS.WritableStream) => { write(text: string): boolean } }) => m.turnBufferedStream(process.stderr),
    () => process.stderr,
  );
  const meshed = Object.freeze({ 'pillion.dev/inject': 'enabled' });
  const server = await startWebhookServer({
    certFile: options.certFile,
    keyFile: options.keyFile,
    port: 0,
    host: '127.0.0.1',
    setupFiles: { templatesDir: options.templatesDir },
    logger: { level: 'info', stream: logStream },
    namespaceLookup: { labelsOf: () => Promise.resolve(meshed) },
    // BENCH_DECISION_CACHE=0 measures pillion with the decision cache off.
    ...(process.env.BENCH_DECISION_CACHE === undefined ? {} : { decisionCacheEntries: Number(process.env.BENCH_DECISION_CACHE) }),
  });
  return { port: server.port, close: () => server.close() };
}

const server = options.mode === 'ceiling' ? await startCeiling() : await startPillion();
process.stdout.write(JSON.stringify({ port: server.port }) + '\n');
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
