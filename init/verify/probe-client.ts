// Verify's probe client, run as a separate process so it can carry the uid/gid under test
// (the kernel's owner match looks at the socket's owner). Usage: probe-client HOST PORT NONCE TIMEOUT_MS
// Exit 0 when the nonce was written, 3 when the connection failed (reason on stderr).
import { connect } from 'node:net';

const [host = '', portText = '', nonce = '', timeoutText = '2000'] = process.argv.slice(2);
const socket = connect({ host, port: Number(portText), timeout: Number(timeoutText) });
socket.on('connect', () => {
  socket.end(`${nonce}\n`, () => process.exit(0));
});
socket.on('timeout', () => {
  process.stderr.write(`connect to ${host}:${portText} timed out\n`);
  process.exit(3);
});
socket.on('error', (error) => {
  process.stderr.write(`connect to ${host}:${portText}: ${error.message}\n`);
  process.exit(3);
});
