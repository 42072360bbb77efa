// One probe connection: connect, write the nonce line, close. Shared by verify's probe client (a
// process of its own, so it can carry the uid under test) and validate (which probes in-process).
import { connect } from 'node:net';

export type SendResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Connect to host:port and write `nonce` and a newline; never rejects. */
export function sendNonce(host: string, port: number, nonce: string, timeoutMs: number): Promise<SendResult> {
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (result: SendResult): void => {
      socket.destroy();
      resolve(result);
    };
    socket.on('connect', () => {
      socket.end(`${nonce}\n`, () => done({ ok: true }));
    });
    socket.on('timeout', () => done({ ok: false, reason: `connect to ${where} timed out` }));
    socket.on('error', (error: NodeJS.ErrnoException) => done({ ok: false, reason: `connect to ${where}: ${error.code ?? error.message}` }));
  });
}
