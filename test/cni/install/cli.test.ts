// The agent's command lines: pillion-cni-install and `pillion cni install|uninstall` share one
// parser and runner (cni/install/cli.ts). Flags and defaults, usage errors (exit 2), the
// uninstall from the pillion CLI byte for byte, the agent run to SIGTERM through each entry, and
// that `pillion inject`/`webhook` never load the agent.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parseCniArgs, UsageError, type AgentRun } from '../../../cni/install/cli.js';
import { cniCliUrl, type CniCliModule } from '../../../injector/cli/cni-command.js';
import { repoPath } from '../../support/paths.js';
import { bridgeConf, calicoConflist, makeHost, pluginTypes, snapshot, waitFor } from './support.js';

const installBin = repoPath('dist', 'cni', 'install', 'main.js');
const pillionBin = repoPath('dist', 'injector', 'bin', 'pillion.js');

function agentRun(argv: string[], env: NodeJS.ProcessEnv = {}): AgentRun {
  const run = parseCniArgs(argv, 'install', env);
  assert.equal(run.kind, 'agent');
  return run;
}

describe('the shared parser', () => {
  test('defaults: preset paths, direct VERSION on /, chroot elsewhere or with --chroot, keep on SIGTERM', () => {
    const run = agentRun([]);
    assert.deepEqual(run.paths, { netDir: '/etc/cni/net.d', binDir: '/opt/cni/bin' });
    assert.equal(run.execMode, 'direct');
    assert.equal(run.httpPort, 15290);
    assert.equal(run.onSigterm, 'keep');
    assert.equal(agentRun(['--host-root', '/host']).execMode, 'chroot');
    assert.equal(agentRun(['--host-root', '/host', '--chroot', '/host-root']).chrootDir, '/host-root');
    assert.deepEqual(agentRun(['--preset', 'k3s', '--bin-dir', '/x']).paths, { netDir: '/var/lib/rancher/k3s/agent/etc/cni/net.d', binDir: '/x' });
    assert.equal(agentRun(['--daemonset', 'pillion-system/pillion-cni-node']).onSigterm, 'check');
    assert.equal(agentRun(['--http-port', 'off']).httpPort, undefined);
    assert.deepEqual(agentRun(['--exclude-namespaces', 'a,,b', '--log-file', '/l']).entrySettings, { excludeNamespaces: ['a', 'b'], logFile: '/l' });
  });

  test('repair: delete when the node is known (NODE_NAME or --node-name), off otherwise', () => {
    assert.deepEqual([agentRun([], { NODE_NAME: 'n1' }).repair, agentRun([], { NODE_NAME: 'n1' }).nodeName], ['delete', 'n1']);
    assert.equal(agentRun(['--node-name', 'n2', '--repair', 'label']).repair, 'label');
    assert.equal(agentRun([]).repair, 'off');
    assert.equal(agentRun([], { NODE_NAME: '' }).repair, 'off');
  });

  test('usage errors name the flag', () => {
    for (const [argv, message] of [
      [['--repair', 'delete'], /--repair delete needs --node-name or NODE_NAME/],
      [['--repair', 'nuke', '--node-name', 'n'], /--repair must be delete, label, off/],
      [['--preset', 'eks'], /--preset: unknown preset "eks"/],
      [['--http-port', '99999'], /--http-port must be a whole number from 0 to 65535/],
      [['--poll-ms', 'soon'], /--poll-ms must be a whole number/],
      [['--exec', 'ssh'], /--exec must be direct, chroot/],
      [['--daemonset', 'just-a-name'], /--daemonset must be NAMESPACE\/NAME/],
      [['--on-sigterm', 'check'], /--on-sigterm check needs --daemonset/],
      [['--uninstall'], /Unknown option '--uninstall'/],
      [['stray'], /Unexpected argument 'stray'/],
    ] as const) {
      assert.throws(() => parseCniArgs(argv, 'install', {}), (error: unknown) => error instanceof UsageError && message.test(error.message), argv.join(' '));
    }
    assert.throws(() => parseCniArgs(['--source', 'x'], 'uninstall', {}), /Unknown option '--source'/, 'uninstall takes only the path flags');
    assert.equal(parseCniArgs(['--uninstall', '--host-root', '/mnt'], 'pillion-cni-install', {}).kind, 'uninstall');
  });
});

describe('the command lines', () => {
  test('exit codes: --help 0 (usage on stdout), usage errors 2 (on stderr), `pillion cni` alone 2', () => {
    for (const argv of [[installBin, '--help'], [pillionBin, 'cni', 'install', '--help'], [pillionBin, 'cni', 'uninstall', '--help']]) {
      const run = spawnSync(process.execPath, argv, { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^usage: pillion(-cni-install| cni (install|uninstall)) /);
      assert.match(run.stdout, /Exit codes: 0 /);
    }
    for (const argv of [[installBin, '--bogus'], [pillionBin, 'cni', 'uninstall', '--bogus'], [pillionBin, 'cni', 'install', '--repair', 'label'], [pillionBin, 'cni']]) {
      const run = spawnSync(process.execPath, argv, { encoding: 'utf8', env: { ...process.env, NODE_NAME: '' } });
      assert.equal(run.status, 2, `${argv.slice(1).join(' ')}: ${run.stderr}`);
      assert.equal(run.stdout, '');
    }
  });

  test('pillion cni uninstall --host-root cleans a node byte for byte (as pillion-cni-install --uninstall does)', async () => {
    const host = makeHost();
    try {
      writeFileSync(join(host.netDir, '10-bridge.conf'), bridgeConf);
      const before = { net: snapshot(host.netDir), bin: snapshot(host.binDir) };
      const agent = host.agent();
      await agent.start();
      assert.equal(agent.status.ready, true, agent.status.reason);
      await agent.stop();
      const run = spawnSync(process.execPath, [pillionBin, 'cni', 'uninstall', '--host-root', host.root], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /restored 10-bridge\.conf byte for byte/);
      assert.deepEqual(snapshot(host.netDir), before.net);
      assert.deepEqual(snapshot(host.binDir), before.bin);
    } finally {
      host.cleanup();
    }
  });

  for (const entry of [[installBin], [pillionBin, 'cni', 'install']]) {
    test(`${entry.length === 1 ? 'pillion-cni-install' : 'pillion cni install'}: runs the agent until SIGTERM, exit 0; --on-sigterm uninstall removes it`, async () => {
      const host = makeHost();
      let child: ReturnType<typeof spawn> | undefined;
      try {
        const conflist = join(host.netDir, '10-calico.conflist');
        writeFileSync(conflist, calicoConflist);
        const readyFile = join(host.root, 'ready.json');
        child = spawn(process.execPath, [...entry, '--host-root', host.root, '--exec', 'direct', '--source', host.source,
          '--service-account-dir', host.saDir, '--api-server', 'https://127.0.0.1:9', '--http-port', 'off', '--ready-file', readyFile,
          '--on-sigterm', 'uninstall', '--poll-ms', '50'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NAME: '' } });
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const running = child;
        const exited = new Promise<number | null>((resolve) => running.on('exit', (code) => resolve(code)));
        await waitFor('the agent to be ready and say so', () => existsSync(readyFile) && /repair of early pods: off/.test(stderr), 10_000).catch((error: Error) => {
          throw new Error(`${error.message}\n${stderr}`);
        });
        assert.deepEqual(pluginTypes(conflist), ['calico', 'portmap', 'bandwidth', 'pillion-cni']);
        child.kill('SIGTERM');
        assert.equal(await exited, 0, stderr);
        assert.equal(stdout, '');
        assert.deepEqual(pluginTypes(conflist), ['calico', 'portmap', 'bandwidth']);
        assert.equal(existsSync(join(host.binDir, 'pillion-cni')), false);
      } finally {
        if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
        host.cleanup();
      }
    });
  }
});

describe('pillion loads the agent only for `pillion cni`', () => {
  test('the module the cni commands load is cni/install/cli.js, and it has runCni', async () => {
    assert.equal(fileURLToPath(cniCliUrl), repoPath('dist', 'cni', 'install', 'cli.js'));
    const loaded = (await import(cniCliUrl.href)) as CniCliModule;
    assert.equal(typeof loaded.runCni, 'function');
    // The interface injector/cli declares is what cli.ts exports (checked by the compiler here).
    const typed: CniCliModule = await import('../../../cni/install/cli.js');
    assert.equal(typed, loaded, 'the same module');
  });

  test("nothing under cni/ is in pillion's import graph (inject and webhook start without it)", async () => {
    const result = await build({ entryPoints: [pillionBin], bundle: true, packages: 'external', platform: 'node', format: 'esm', splitting: true, outdir: '/nonexistent', write: false, metafile: true, logLevel: 'silent' });
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(inputs.some((file) => file.endsWith('injector/cli/cni-command.js')), 'the cni command is registered');
    assert.deepEqual(inputs.filter((file) => file.includes('dist/cni/')), []);
  });
});
