// Before the entry goes in: can the installed plugin run on this host? Runs it with
// CNI_COMMAND=VERSION exactly as the runtime would (argv, no shell, an empty environment but
// PATH), either directly or, when the host's root is mounted into the agent, chrooted into it,
// so that the host's own loader and libraries are the ones used.
import { execFile } from 'node:child_process';

export type ExecMode = 'direct' | 'chroot';

export type VersionCheck = { readonly ok: true; readonly versions: readonly string[] } | { readonly ok: false; readonly reason: string };

export interface VersionCheckTarget {
  /** The binary's path as the agent sees it (mode direct). */
  readonly agentPath: string;
  /** The host's root as the agent sees it, and the binary's path on the host (mode chroot). */
  readonly hostRoot: string;
  readonly hostPath: string;
  readonly mode: ExecMode;
  readonly timeoutMs: number;
}

export function checkVersion(target: VersionCheckTarget): Promise<VersionCheck> {
  const [file, args] = target.mode === 'chroot' ? ['chroot', [target.hostRoot, target.hostPath]] : [target.agentPath, []];
  const env = { CNI_COMMAND: 'VERSION', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: target.timeoutMs, encoding: 'utf8', maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const where = target.mode === 'chroot' ? `${target.hostPath} (chroot ${target.hostRoot})` : target.agentPath;
      if (error !== null) {
        const detail = (stderr.trim() || stdout.trim() || error.message).split('\n').slice(0, 3).join(' | ');
        const status = error.killed ? `timed out after ${target.timeoutMs} ms` : `failed (${error.code ?? error.signal ?? 'error'})`;
        resolve({ ok: false, reason: `the plugin cannot run on this host: ${where} VERSION ${status}: ${detail}` });
        return;
      }
      try {
        const info = JSON.parse(stdout) as { supportedVersions?: unknown };
        if (!Array.isArray(info.supportedVersions) || info.supportedVersions.length === 0) throw new Error('no supportedVersions');
        resolve({ ok: true, versions: info.supportedVersions.map(String) });
      } catch (parseError) {
        resolve({ ok: false, reason: `the plugin cannot run on this host: ${where} VERSION printed no version info (${(parseError as Error).message}): ${stdout.slice(0, 200)}` });
      }
    });
  });
}
