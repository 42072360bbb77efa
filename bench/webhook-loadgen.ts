// Load generator for bench/webhook-load.ts, run in its own process so it does not share an event
// loop with the server. HTTP/1.1 over keep-alive TLS connections, like the API server's webhook
// client. Latency is measured in microseconds (autocannon's histogram resolves only 1 ms, too coarse
// for sub-millisecond reviews). With a target rate the loop is open: latency counts from the
// scheduled send time, so a stalled server cannot hide its queueing (coordinated omission).
//
// The requests go round the given bodies (real pods' AdmissionReviews). Every request gets its own
// uid, as from the API server, and its own second in its managedFields' time, as replicas created
// over time have; with `vary` it also gets its own pod: a counter is written over the body's
// revision token (pod-template-hash, owner uid, …), as a new rollout's pods differ.
// Every answer is checked: status 200, the request's uid echoed, and a JSON Patch exactly when the
// body's pod is one that gets injected. A wrong answer is counted and fails the bench.
//
// argv[2]: JSON Options (below); result JSON on stdout. `firstSeq` is where this run's counter
// starts: one bench spawns many generators (rounds, phases), and each must send pods no other run
// sent, or the decision cache would answer "unseen" pods.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';

export interface LoadBody {
  readonly file: string;
  /** Offset of the uid's last 12 hex digits. */
  readonly uidOffset: number;
  /** Offsets of the revision token (10 hex digits each). */
  readonly revisionOffsets: readonly number[];
  /** Offsets of the managedFields entries' time of day (HH:MM:SS), which every request sets anew. */
  readonly timeOffsets: readonly number[];
  /** The pod is injected: its answer carries a JSON Patch. */
  readonly expectPatch: boolean;
}

export interface LoadOptions {
  port: number;
  ca: string;
  bodies: readonly LoadBody[];
  vary: boolean;
  connections: number;
  durationMs: number;
  /** Requests per second over all connections; absent = as fast as possible (closed loop). */
  rate?: number;
  firstSeq: number;
}

export interface ClientResult {
  requests: number;
  errors: number;
  non200: number;
  /** Answers that were not right for their request (uid, patch or not); `firstWrong` says how. */
  wrongAnswers: number;
  firstWrong?: string;
  patched: number;
  unpatched: number;
  elapsedMs: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** p99 of the load generator's own event-loop delay: how late it was to see answers. */
  clientLoopDelayP99Ms: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
const bodies = options.bodies.map((b, index) => {
  const body = readFileSync(b.file);
  // x-bench-body lets the ceiling pick its answer without work of its own; pillion ignores it.
  const head = Buffer.from(`POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Bench-Body: ${index}\r\nContent-Length: ${body.length}\r\n\r\n`);
  return { ...b, request: Buffer.concat([head, body]), bodyStart: head.length };
});
let sent = 0;

interface Sent {
  readonly request: Buffer;
  readonly uid: Buffer;
  readonly expectPatch: boolean;
}

const patchMark = Buffer.from('"patchType":"JSONPatch"');
const allowedMark = Buffer.from('"allowed":true');

/** A fresh request (never a buffer still queued on a socket) with this request's counters. */
function nextRequest(): Sent {
  const n = sent++;
  const body = bodies[n % bodies.length];
  if (body === undefined) throw new Error('no bodies');
  const request = Buffer.from(body.request);
  const uidDigits = n.toString(16).padStart(12, '0').slice(-12);
  request.write(uidDigits, body.bodyStart + body.uidOffset, 'latin1');
  if (options.vary) {
    const revision = (options.firstSeq + n).toString(16).padStart(10, '0').slice(-10);
    for (const offset of body.revisionOffsets) request.write(revision, body.bodyStart + offset, 'latin1');
  }
  // Replicas are created over time: the API server stamps each one's managedFields with its second.
  const second = n % 86_400;
  const time = [Math.floor(second / 3600), Math.floor(second / 60) % 60, second % 60].map((part) => String(part).padStart(2, '0')).join(':');
  for (const offset of body.timeOffsets) request.write(time, body.bodyStart + offset, 'latin1');
  const uidStart = body.bodyStart + body.uidOffset - 24;
  const uid = Buffer.concat([Buffer.from('"uid":"'), request.subarray(uidStart, uidStart + 36), Buffer.from('"')]);
  return { request, uid, expectPatch: body.expectPatch };
}

const latenciesUs: number[] = [];
let errors = 0;
let non200 = 0;
let wrongAnswers = 0;
let firstWrong: string | undefined;
let patched = 0;
let unpatched = 0;
let stopAt = 0;

function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function openConnection(): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: options.port, ca: options.ca, servername: 'localhost' }, () => resolve(socket));
    socket.setNoDelay(true);
    socket.once('error', reject);
  });
}

function check(sentRequest: Sent, status: number, answer: Buffer): void {
  const wrong = (why: string): void => {
    wrongAnswers += 1;
    firstWrong ??= `${why}: ${answer.subarray(0, 300).toString('utf8')}`;
  };
  if (status !== 200) return;
  if (answer.indexOf(sentRequest.uid) < 0) return wrong(`uid ${sentRequest.uid.toString()} not echoed`);
  if (answer.indexOf(allowedMark) < 0) return wrong('not allowed');
  const hasPatch = answer.indexOf(patchMark) >= 0;
  if (hasPatch) patched += 1;
  else unpatched += 1;
  if (hasPatch !== sentRequest.expectPatch) wrong(sentRequest.expectPatch ? 'no patch for a pod that is injected' : 'a patch for a pod that is skipped');
}

/** Send one request and resolve with the status once the whole response has arrived and is checked. */
function exchange(socket: TLSSocket): Promise<number> {
  const sentRequest = nextRequest();
  return new Promise((resolve, reject) => {
    let buffer: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      const headEnd = buffer.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = buffer.subarray(0, headEnd).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 'NaN');
      if (Number.isNaN(length)) return fail(new Error('response without content-length'));
      if (buffer.length < headEnd + 4 + length) return;
      cleanup();
      const status = Number(head.slice(9, 12));
      check(sentRequest, status, buffer.subarray(headEnd + 4, headEnd + 4 + length));
      resolve(status);
    };
    const fail = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('close', onClose);
    };
    const onClose = (): void => fail(new Error('connection closed'));
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('close', onClose);
    socket.write(sentRequest.request);
  });
}

async function runConnection(index: number): Promise<void> {
  let socket = await openConnection();
  const perConnectionRate = options.rate === undefined ? undefined : options.rate / options.connections;
  const intervalUs = perConnectionRate === undefined ? 0 : 1e6 / perConnectionRate;
  // Stagger open-loop connections so they do not all fire together.
  let nextUs = nowUs() + (intervalUs * index) / options.connections;
  let lastDoneUs = 0;
  while (Date.now() < stopAt) {
    let startUs = nowUs();
    if (intervalUs > 0) {
      if (lastDoneUs > nextUs) {
        // The previous answer came after this request's slot: the server made it late, so time it
        // from when it SHOULD have been sent (no coordinated omission).
        startUs = nextUs;
      } else {
        // On time so far: wait for the slot (no busy-wait: the server needs the CPU) and time from
        // the actual send, so our own timer's oversleep is not blamed on the server.
        if (startUs < nextUs) await new Promise((r) => setTimeout(r, Math.max(0, Math.round((nextUs - startUs) / 1000))));
        startUs = nowUs();
      }
      nextUs += intervalUs;
      // Our own lateness (timer oversleep) must not snowball into a backlog charged to the server.
      nextUs = Math.max(nextUs, startUs);
    }
    try {
      const status = await exchange(socket);
      lastDoneUs = nowUs();
      latenciesUs.push(lastDoneUs - startUs);
      if (status !== 200) non200 += 1;
    } catch {
      errors += 1;
      socket.destroy();
      if (Date.now() >= stopAt) break;
      socket = await openConnection();
    }
  }
  socket.end();
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

// How late this process's own event loop runs: the part of its latencies that is not the server's.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const started = Date.now();
stopAt = started + options.durationMs;
await Promise.all(Array.from({ length: options.connections }, (_, i) => runConnection(i)));
const elapsedMs = Date.now() - started;
const sorted = latenciesUs.sort((a, b) => a - b);
const result: ClientResult = {
  requests: sorted.length,
  errors,
  non200,
  wrongAnswers,
  ...(firstWrong === undefined ? {} : { firstWrong }),
  patched,
  unpatched,
  elapsedMs,
  rps: (sorted.length / elapsedMs) * 1000,
  p50Ms: percentile(sorted, 50) / 1000,
  p90Ms: percentile(sorted, 90) / 1000,
  p99Ms: percentile(sorted, 99) / 1000,
  maxMs: (sorted.at(-1) ?? Number.NaN) / 1000,
  clientLoopDelayP99Ms: loopDelay.percentile(99) / 1e6,
};
process.stdout.write(JSON.stringify(result) + '\n');
