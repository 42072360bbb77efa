// Verify's probe client, run as a separate process so it can carry the uid/gid under test
// (the kernel's owner match looks at the socket's owner). Usage: probe-client HOST PORT NONCE TIMEOUT_MS
// Exit 0 when the nonce was written, 3 when the connection failed (reason on stderr).
import { sendNonce } from './connect.js';

const [host = '', portText = '', nonce = '', timeoutText = '2000'] = process.argv.slice(2);
// No top-level await: the shipped bundle is CommonJS (injector/build/bundle.ts).
void sendNonce(host, Number(portText), nonce, Number(timeoutText)).then((result) => {
  if (!result.ok) process.stderr.write(`${result.reason}\n`);
  process.exit(result.ok ? 0 : 3);
});
