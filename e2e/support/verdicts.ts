// Assertions over one probe: did it go through the proxy (and with which original destination),
// or straight to the server? Failures say what each end actually saw.
import assert from 'node:assert/strict';
import { expectReply, reachedDirectly, type ConnectResult, type ServerReply } from './connect.js';
import type { Service } from './process.js';
import { proxyEntries, waitForProxyEntry, type ProxyLogEntry } from './proxy-log.js';

function show(result: ConnectResult): string {
  return JSON.stringify(result);
}

/** The connection reached `server` without any proxy in between. */
export function assertDirect(result: ConnectResult, server: string, what: string): ServerReply {
  const reply = expectReply(result, what);
  assert.equal(reply.server, server, `${what}: answered by ${reply.server}, expected ${server} (${show(result)})`);
  assert.ok(reachedDirectly(result), `${what}: expected a direct connection, but the server saw another source (${show(result)})`);
  return reply;
}

/**
 * Send a probe; it must go through `proxy`'s `listener`, which logs it with this client's source
 * and the expected original destination, and the reply must come from `server`. Only log lines
 * written after the probe started count, so an earlier connection that happened to use the same
 * ephemeral port can never stand in for this one.
 */
export async function assertProxied(
  proxy: Service,
  send: () => Promise<ConnectResult>,
  expected: { listener: 'outbound' | 'inbound'; server: string; origAddr: string; origPort: number },
  what: string,
): Promise<{ result: ConnectResult; reply: ServerReply; entry: ProxyLogEntry }> {
  const mark = proxy.lines.length;
  const result = await send();
  const reply = expectReply(result, what);
  assert.equal(reply.server, expected.server, `${what}: answered by ${reply.server}, expected ${expected.server} (${show(result)})`);
  assert.ok(!reachedDirectly(result), `${what}: the server saw the client's own socket, so nothing proxied it (${show(result)})`);
  let entry: ProxyLogEntry;
  try {
    entry = await waitForProxyEntry(proxy, (e) => e.client_addr === result.local_addr && e.client_port === result.local_port, mark);
  } catch {
    const recent = proxyEntries(proxy, mark).slice(-5).map((e) => JSON.stringify(e));
    assert.fail(`${what}: ${proxy.name} logged no connection from ${result.local_addr}:${result.local_port}; last entries:\n${recent.join('\n')}`);
  }
  assert.deepEqual(
    { listener: entry.listener, orig_addr: entry.orig_addr, orig_port: entry.orig_port },
    { listener: expected.listener, orig_addr: expected.origAddr, orig_port: expected.origPort },
    `${what}: proxy log entry differs`,
  );
  return { result, reply, entry };
}
