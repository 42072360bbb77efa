// What the init tests that run against the real kernel share: running a command (a non-zero exit
// as a result, or as an error) and a pod-like network namespace to run pillion-init in.
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run argv (with `input` on stdin); a non-zero exit is a result. */
export function sh(argv: readonly string[], input?: string): RunResult {
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8', input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run argv (with `input` on stdin); its stdout, or an error naming the command when it fails. */
export function must(argv: readonly string[], input?: string): string {
  const r = sh(argv, input);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * A namespace (deleted when the test ends) with lo up and a veth pair whose end pod0 carries a
 * pod-like IPv4 /24 address and, when given, an IPv6 /64 one (nodad: usable at once). Without
 * `ipv6` the pod is IPv4-only; pod0 still gets an IPv6 link-local address.
 */
export function makePodNamespace(t: TestContext, name: string, addresses: { ipv4: string; ipv6?: string }): void {
  sh(['ip', 'netns', 'del', name]);
  must(['ip', 'netns', 'add', name]);
  t.after(() => sh(['ip', 'netns', 'del', name]));
  must(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  must(['ip', '-n', name, 'link', 'add', 'pod0', 'type', 'veth', 'peer', 'name', 'pod1']);
  must(['ip', '-n', name, 'addr', 'add', `${addresses.ipv4}/24`, 'dev', 'pod0']);
  if (addresses.ipv6 !== undefined) must(['ip', '-n', name, 'addr', 'add', `${addresses.ipv6}/64`, 'dev', 'pod0', 'nodad']);
  must(['ip', '-n', name, 'link', 'set', 'pod0', 'up']);
  must(['ip', '-n', name, 'link', 'set', 'pod1', 'up']);
}
