// Load generator for bench/webhook-load.ts, run in its own process so it does not share an event
// loop with the server. HTTP/1.1 over keep-alive TLS connections, like the API server's webhook
// client. Latency is measured in microseconds (autocannon's histogram resolves only 1 ms, too coarse
// for sub-millisecond reviews). With a target rate the loop is open: latency counts from the
// scheduled send time, so a stalled server cannot hide its queueing (coordinated omission).
//
// Every request gets its own uid, as from the API server; with `stamp.seq` it also gets its own
// pod (a label value counts up), so no two reviews are identical.
//
// argv[2]: JSON { port, ca, bodyFile, connections, durationMs, rate?, stamp, firstSeq? }; result JSON
// on stdout. `firstSeq` is where this run's label values start: one bench spawns many generators
// (rounds, phases), and each starting at 0 made the "distinct" pods of one repeat another's, which
// the decision cache then answered.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';

interface Options {
  port: number;
  ca: string;
  bodyFile: string;
  connections: number;
  durationMs: number;
  /** Requests per second over all connections; absent = as fast as possible (closed loop). */
  rate?: number;
  firstSeq?: number;
  /** Where in the body to write per-request counters: `width` hex digits of the uid; decimal seq. */
  stamp: { uid: Stamp; seq?: Stamp };
}

interface Stamp {
  offset: number;
  width: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const body = readFileSync(options.bodyFile);
const head = Buffer.from(`POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
let sent = 0;

/** A fresh request (never a buffer still queued on a socket) with this request's counters. */
function nextRequest(): Buffer {
  const request = Buffer.concat([head, body]);
  const n = sent++;
  const write = (stamp: Stamp, text: string): void => {
    request.write(text.padStart(stamp.width, '0').slice(-stamp.width), head.length + stamp.offset, 'latin1');
  };
  write(options.stamp.uid, n.toString(16));
  if (options.stamp.seq !== undefined) write(options.stamp.seq, String((options.firstSeq ?? 0) + n));
  return request;
}

const latenciesUs: number[] = [];
let errors = 0;
let non200 = 0;
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

/** Send one request and resolve with the status once the whole response has arrived. */
function exchange(socket: TLSSocket): Promise<number> {
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
      resolve(Number(head.slice(9, 12)));
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
    socket.write(nextRequest());
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
process.stdout.write(
  JSON.stringify({
    requests: sorted.length,
    errors,
    non200,
    elapsedMs,
    rps: (sorted.length / elapsedMs) * 1000,
    p50Ms: percentile(sorted, 50) / 1000,
    p90Ms: percentile(sorted, 90) / 1000,
    p99Ms: percentile(sorted, 99) / 1000,
    maxMs: (sorted.at(-1) ?? Number.NaN) / 1000,
    clientLoopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  }) + '\n',
);
