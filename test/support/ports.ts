// Free loopback ports for servers a test starts and must name up front (e.g. in a config).
import { createServer } from 'node:net';

/** A free loopback TCP port (the kernel's pick; released just before the server claims it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
