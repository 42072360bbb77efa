// A small HTTPS client for the tests: verifies the server against the test CA and reports the
// certificate it was served, so rotation tests can tell which pair answered.
import { request as httpsRequest } from 'node:https';
import type { Agent } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface HttpsAnswer {
  readonly status: number;
  readonly body: string;
  readonly fingerprint256: string | undefined;
  readonly reusedSocket: boolean;
}

export interface RequestOptions {
  readonly port: number;
  readonly ca: string;
  readonly path?: string;
  readonly method?: string;
  readonly body?: string | Buffer;
  readonly contentType?: string;
  readonly agent?: Agent | false;
  readonly servername?: string;
}

export function sendHttps(options: RequestOptions): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: options.port,
        path: options.path ?? '/inject',
        method: options.method ?? 'POST',
        ca: options.ca,
        servername: options.servername ?? 'localhost',
        agent: options.agent ?? false,
        headers: options.body === undefined ? {} : { 'content-type': options.contentType ?? 'application/json' },
      },
      (res) => {
        // Read now: a keep-alive agent detaches the socket from the response at 'end'.
        const fingerprint256 = (res.socket as TLSSocket | null)?.getPeerCertificate?.().fingerprint256;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            fingerprint256,
            reusedSocket: req.reusedSocket,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Collects pino's JSON lines so tests can wait for a log message. */
export function captureLogs(): { stream: { write(line: string): void }; lines: string[]; has(msg: string): boolean } {
  const lines: string[] = [];
  return {
    stream: { write: (line: string) => void lines.push(line) },
    lines,
    has: (msg) => lines.some((l) => (JSON.parse(l) as { msg?: string }).msg === msg),
  };
}

/** Poll `condition` every 20 ms, up to `timeoutMs`; returns whether it became true. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return condition();
}
