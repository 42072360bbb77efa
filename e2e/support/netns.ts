// Network namespaces, veth links and commands run inside them, always as argv arrays (never a
// shell string). Every namespace this module creates is also registered for a last-resort,
// synchronous deletion (exit-cleanup.ts), so a crashed or interrupted test run does not leave
// namespaces behind; normal cleanup is the caller's t.after / finally.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { registerExitCleanup } from './exit-cleanup.js';

export interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Text written to the command's stdin (e.g. iptables-restore input). */
  readonly input?: string;
  /** Kill the command after this long; every external wait in the tests is bounded. */
  readonly timeoutMs?: number;
  /** Replace the environment entirely (default: inherit the test process's environment). */
  readonly env?: Record<string, string>;
}

/** A process identity: who a command runs as inside a namespace. */
export interface Identity {
  readonly uid: number;
  readonly gid: number;
}

const DEFAULT_TIMEOUT_MS = 20_000;

/** Run argv, never through a shell; a non-zero exit is a result, not an exception. */
export async function runCommand(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('runCommand: empty argv');
  const result = await execa(file, args, {
    reject: false,
    stripFinalNewline: false,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    ...(options.env === undefined ? {} : { env: options.env, extendEnv: false }),
  });
  if (result.timedOut) throw new Error(`${argv.join(' ')}: timed out after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`);
  return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Run argv and return stdout; throws with the command's stderr when it fails. */
export async function runChecked(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await runCommand(argv, options);
  if (result.exitCode !== 0) {
    throw new Error(`${argv.join(' ')} exited ${result.exitCode}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** argv that runs `argv` inside namespace `ns`. */
export function inNamespace(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/** argv that runs `argv` as uid/gid with no supplementary groups (setpriv execs, so the pid is kept). */
export function asIdentity(identity: Identity, argv: readonly string[]): string[] {
  return ['setpriv', `--reuid=${identity.uid}`, `--regid=${identity.gid}`, '--clear-groups', ...argv];
}

/**
 * The python3 every helper script runs under. A user-level python shim (pyenv under /root) is not
 * reachable by the unprivileged uids the tests switch to, so the system interpreter comes first.
 */
export const python3 = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** A name unique to this process, so parallel runs on one host never collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}`;
}

const createdNamespaces = new Map<string, () => void>();

/** Create a namespace with its loopback up (a fresh namespace's lo is down, so 127.0.0.1 would not work). */
export async function createNamespace(name: string): Promise<void> {
  await runChecked(['ip', 'netns', 'add', name]);
  createdNamespaces.set(
    name,
    registerExitCleanup(() => {
      spawnSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
    }),
  );
  await runChecked(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
}

/**
 * Delete a namespace made by createNamespace. Processes still inside it are killed first: a
 * namespace stays alive, invisible, as long as any process is in it. Missing namespaces are fine.
 */
export function deleteNamespace(name: string): Promise<void> {
  deleteNamespaceNow(name);
  return Promise.resolve();
}

/** deleteNamespace, synchronously: for cleanup that must finish before the process exits. */
export function deleteNamespaceNow(name: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout ?? '';
  for (const pid of pids.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  spawnSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
  createdNamespaces.get(name)?.();
  createdNamespaces.delete(name);
}

export interface LinkEnd {
  readonly ns: string;
  readonly ifname: string;
}

/** A veth pair created directly in both namespaces (never in the host's own namespace), both ends up. */
export async function addVethPair(a: LinkEnd, b: LinkEnd): Promise<void> {
  await runChecked(['ip', '-n', a.ns, 'link', 'add', a.ifname, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns]);
  await runChecked(['ip', '-n', a.ns, 'link', 'set', a.ifname, 'up']);
  await runChecked(['ip', '-n', b.ns, 'link', 'set', b.ifname, 'up']);
}

/**
 * Add an address. IPv6 addresses get `nodad`: duplicate address detection would otherwise keep a
 * new address "tentative" (unusable as a source, and not bindable) for about a second.
 */
export async function addAddress(end: LinkEnd, cidr: string): Promise<void> {
  const extra = cidr.includes(':') ? ['nodad'] : [];
  await runChecked(['ip', '-n', end.ns, 'addr', 'add', cidr, 'dev', end.ifname, ...extra]);
}
