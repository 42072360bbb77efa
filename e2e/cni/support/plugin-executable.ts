// The executable under test: the self-contained dist/sea/pillion-cni that npm run build:cni
// writes (built here when missing or older than the compiled plugin), run with a PATH holding
// only the host tools the plugin may use, so Node is provably absent.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../../../test/support/paths.js';
import { registerExitCleanup } from '../../support/exit-cleanup.js';

export const seaExecutable = repoPath('dist', 'sea', 'pillion-cni');
const compiledEntry = repoPath('dist', 'cni', 'bin', 'pillion-cni.js');
const buildScript = repoPath('dist', 'cni', 'build', 'build-sea.js');

/** Build the executable when it is missing or older than the compiled plugin; returns its path. */
export function ensureSeaBuilt(): string {
  if (!existsSync(compiledEntry)) throw new Error(`${compiledEntry} is missing: run npm run build first`);
  const fresh = existsSync(seaExecutable) && statSync(seaExecutable).mtimeMs >= statSync(compiledEntry).mtimeMs;
  if (!fresh) {
    const built = spawnSync(process.execPath, [buildScript], { encoding: 'utf8', timeout: 180_000 });
    if (built.status !== 0) throw new Error(`building ${seaExecutable} failed: ${built.stderr}`);
  }
  return seaExecutable;
}

/** What the plugin runs on a node: nsenter, ip, head and the iptables tools (both back ends). */
const hostTools = ['nsenter', 'ip', 'head', 'iptables', 'ip6tables', 'iptables-save', 'ip6tables-save',
  ...['legacy', 'nft'].flatMap((b) => [`iptables-${b}`, `ip6tables-${b}`, `iptables-${b}-save`, `ip6tables-${b}-save`, `iptables-${b}-restore`, `ip6tables-${b}-restore`])];

function locate(tool: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const path = join(dir, tool);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** A directory of links to the host tools and nothing else, to be the plugin's whole PATH. */
export function toolsOnlyPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-cni-path-'));
  registerExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  for (const tool of hostTools) {
    const target = locate(tool);
    if (target !== undefined) symlinkSync(target, join(dir, tool));
  }
  const node = spawnSync('sh', ['-c', 'command -v node'], { env: { PATH: dir }, encoding: 'utf8' });
  if (node.status === 0) throw new Error(`node is reachable through ${dir}: ${node.stdout}`);
  return dir;
}
