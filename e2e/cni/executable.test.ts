// The self-contained executable itself (dist/sea/pillion-cni): it runs with Node absent from
// PATH, answers VERSION like the Node entry, and NODE_OPTIONS from the runtime's environment
// does not reach the plugin's code.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoPath } from '../../test/support/paths.js';
import { skipOrFail } from '../../test/support/privileges.js';
import { runCni } from './support/cni-runner.js';
import { ensureSeaBuilt, toolsOnlyPath } from './support/plugin-executable.js';

const versionInfo = { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] };

test('VERSION from the executable with Node absent from PATH, the same as from the Node entry', { timeout: 240_000 }, async () => {
  const plugin = ensureSeaBuilt();
  const path = toolsOnlyPath();
  const sea = await runCni({ command: 'VERSION', argv: [plugin], config: { cniVersion: '1.0.0' }, path });
  assert.equal(sea.exitCode, 0, sea.stderr);
  assert.deepEqual(sea.json, versionInfo);
  assert.equal(sea.stderr, '');
  const node = await runCni({ command: 'VERSION', argv: [process.execPath, repoPath('dist', 'cni', 'bin', 'pillion-cni.js')], config: '' });
  assert.equal(node.stdout, sea.stdout);
});

test('an error from the executable is one CNI error object on stdout, even without stdin or a known command', { timeout: 240_000 }, async () => {
  const plugin = ensureSeaBuilt();
  const path = toolsOnlyPath();
  const unknown = await runCni({ command: 'VERSION', argv: [plugin], config: '', path, extraEnv: { CNI_COMMAND: 'FROB' } });
  assert.equal(unknown.exitCode, 1);
  assert.deepEqual({ code: unknown.json?.code, cniVersion: unknown.json?.cniVersion }, { code: 4, cniVersion: '1.1.0' });
});

test('NODE_OPTIONS in the environment does not reach the plugin\'s code', { timeout: 240_000 }, async (t) => {
  if (process.getuid?.() !== 0) {
    skipOrFail(t, 'needs root (the executable is tested as the runtime runs it)');
    return;
  }
  const plugin = ensureSeaBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'pillion-cni-node-options-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const marker = join(dir, 'marker');
  // A preload that would silence stdout and records every process it runs in.
  const preload = join(dir, 'preload.cjs');
  writeFileSync(preload, `require('fs').appendFileSync(${JSON.stringify(marker)}, 'x'); process.stdout.write = () => true;\n`);
  const result = await runCni({ command: 'VERSION', argv: [plugin], config: '', path: toolsOnlyPath(), extraEnv: { NODE_OPTIONS: `--require ${preload}` } });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.deepEqual(result.json, versionInfo, 'the result reached stdout: the preload did not run in the plugin');
  // Not even once: the executable ignores NODE_OPTIONS outright (execArgvExtension none).
  assert.equal(existsSync(marker), false, 'the preload never ran');
});
