// A TCP gate on loopback in front of the API server: it counts connections (so a test can prove
// a pod cost no API call) and can stall (accept, then say nothing: a slow API server).
import { connect, createServer, type Server, type Socket } from 'node:net';

export type GateMode = 'forward' | 'stall';

export interface ApiGate {
  readonly url: string;
  readonly connections: number;
  mode: GateMode;
  close(): Promise<void>;
}

export async function startApiGate(target: URL): Promise<ApiGate> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const gate = { mode: 'forward' as GateMode };
  const server: Server = createServer((client) => {
    connections++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (gate.mode === 'stall') return;
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('api gate: no address');
  return {
    url: `https://127.0.0.1:${address.port}`,
    get connections() {
      return connections;
    },
    get mode() {
      return gate.mode;
    },
    set mode(mode: GateMode) {
      gate.mode = mode;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
