// Test traffic: one TCP connection or UDP query from inside a namespace, as a chosen identity,
// run by net_client.py, plus the verdicts the tests draw from what both ends saw.
import { repoPath } from '../../test/support/paths.js';
import { asIdentity, inNamespace, python3, runChecked, type Identity } from './netns.js';

/** What a servers.py responder saw, as it reports it. */
export interface ServerReply {
  readonly server: string;
  readonly proto: 'tcp' | 'udp';
  readonly local_addr: string;
  readonly local_port: number;
  readonly peer_addr: string;
  readonly peer_port: number;
}

/** What net_client.py reports: its own (pre-NAT) source address and the server's reply. */
export interface ConnectResult {
  readonly ok: boolean;
  readonly local_addr: string | null;
  readonly local_port: number | null;
  readonly reply?: ServerReply;
  readonly error?: string;
}

const clientScript = repoPath('e2e', 'support', 'net_client.py');

/** Connect (TCP) or query (UDP) host:port from namespace `ns` as `identity`; timeouts are short and bounded. */
export async function sendProbe(
  ns: string,
  identity: Identity,
  proto: 'tcp' | 'udp',
  host: string,
  port: number,
  timeoutSeconds = 2,
): Promise<ConnectResult> {
  const argv = inNamespace(ns, asIdentity(identity, [python3, clientScript, proto, host, String(port), '--timeout', String(timeoutSeconds)]));
  const stdout = await runChecked(argv, { timeoutMs: (timeoutSeconds + 10) * 1000 });
  return JSON.parse(stdout) as ConnectResult;
}

/** The reply, or a failure that says what happened (refused, timed out ...). */
export function expectReply(result: ConnectResult, what: string): ServerReply {
  if (!result.ok || result.reply === undefined) {
    throw new Error(`${what}: no reply (${result.error ?? 'unknown error'})`);
  }
  return result.reply;
}

/**
 * True when the server saw exactly the client's own source address and port: nothing re-originated
 * the connection. A proxy always connects from a new socket (new port, and for inbound 127.0.0.6 /
 * ::6), so any capture shows up as a mismatch, independent of log timing.
 */
export function reachedDirectly(result: ConnectResult): boolean {
  const reply = result.reply;
  return reply !== undefined && reply.peer_addr === result.local_addr && reply.peer_port === result.local_port;
}
