// The proxies' per-connection log (haproxy's log-format and original_dst_proxy.py both print the
// same JSON shape), and queries over it.
import type { Service } from './process.js';

export interface ProxyLogEntry {
  readonly listener: 'outbound' | 'inbound';
  readonly client_addr: string;
  readonly client_port: number;
  readonly orig_addr: string;
  readonly orig_port: number;
}

/** Parse a log line; other lines (READY, diagnostics) give undefined. */
export function parseProxyLogLine(line: string): ProxyLogEntry | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as Partial<ProxyLogEntry>;
    if (entry.listener === undefined || entry.orig_addr === undefined) return undefined;
    return entry as ProxyLogEntry;
  } catch {
    return undefined;
  }
}

/** Entries logged since line index `from` (use proxy.lines.length as a mark before a probe). */
export function proxyEntries(proxy: Service, from = 0): ProxyLogEntry[] {
  return proxy.lines
    .slice(from)
    .map(parseProxyLogLine)
    .filter((e): e is ProxyLogEntry => e !== undefined);
}

/** Wait (bounded) for an entry matching `match`, logged at or after line index `from`. */
export async function waitForProxyEntry(
  proxy: Service,
  match: (entry: ProxyLogEntry) => boolean,
  from = 0,
  timeoutMs = 3000,
): Promise<ProxyLogEntry> {
  const line = await proxy.waitForLine(
    (l) => {
      const entry = parseProxyLogLine(l);
      return entry !== undefined && match(entry);
    },
    timeoutMs,
    from,
  );
  return parseProxyLogLine(line)!;
}
