// The real executor of pillion-init and pillion-cni (node:child_process): argv without a shell,
// stdin, exit codes, a missing program, a time limit, and running as another user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpawnExecutor, programOnPath, runProcess, runProcessSync, timedOutExitCode } from '../../init/exec/spawn-executor.js';

const ex = new SpawnExecutor();

// Both ways a command runs: synchronously (apply, cleanup, the CNI plugin) and alongside the event
// loop (verify's probes); each must answer the same.
for (const [way, alongside] of [['synchronously', {}], ['alongside the event loop', { alongside: true }]] as const) {
  test(`${way}: argv is passed as is (no shell), stdin is the input, output and exit code come back whole`, async () => {
    const r = await ex.run([process.execPath, '-e', 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{process.stdout.write(process.argv[1]+"|"+s);process.stderr.write("e\\n");process.exitCode=3})', '$HOME; echo x'], { input: 'line 1\nline 2\n', ...alongside });
    assert.deepEqual(r, { exitCode: 3, stdout: '$HOME; echo x|line 1\nline 2\n', stderr: 'e\n' });
  });

  test(`${way}: a program that does not read its stdin is no failure; output beyond 1 MiB comes back whole`, async () => {
    assert.deepEqual(await ex.run(['true'], { input: 'x'.repeat(1 << 22), ...alongside }), { exitCode: 0, stdout: '', stderr: '' });
    // A host's iptables-save with kube-proxy's rules runs to megabytes.
    const big = await ex.run(['head', '-c', String(3 << 20), '/dev/zero'], alongside);
    assert.equal(big.exitCode, 0);
    assert.equal(big.stdout.length, 3 << 20);
  });

  test(`${way}: a missing program is exit 127 naming it; an empty argv is a bug`, async () => {
    const r = await ex.run(['/nonexistent/iptables-nft-save'], alongside);
    assert.equal(r.exitCode, 127);
    assert.match(r.stderr, /^\/nonexistent\/iptables-nft-save: spawn(Sync)? .*ENOENT/);
    await assert.rejects(ex.run([], alongside), /empty argv/);
  });

  test(`${way}: the time limit kills the program: exit 124; a program killed otherwise is 128 + the signal`, async () => {
    const started = Date.now();
    const r = await ex.run(['sleep', '5'], { timeoutMs: 200, ...alongside });
    assert.equal(r.exitCode, timedOutExitCode);
    assert.match(r.stderr, /sleep: killed after 200 ms$/);
    assert.ok(Date.now() - started < 3000);
    const killed = await ex.run(['sh', '-c', 'kill -TERM $$'], alongside);
    assert.equal(killed.exitCode, 128 + 15);
    assert.match(killed.stderr, /killed by SIGTERM/);
  });

  test(`${way}: uid and gid: the program runs as the given user and group`, { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
    const r = await ex.run(['id', '-u', '-r'], { uid: 1337, gid: 1338, ...alongside });
    assert.deepEqual(r, { exitCode: 0, stdout: '1337\n', stderr: '' });
    assert.equal((await ex.run(['id', '-g'], { uid: 1337, gid: 1338, ...alongside })).stdout, '1338\n');
  });
}

test('only a command asked to run alongside lets the event loop go on meanwhile', async () => {
  const ticks = (): { count: number; stop: () => void } => {
    const t = { count: 0, stop: () => clearInterval(timer) };
    const timer = setInterval(() => (t.count += 1), 10);
    return t;
  };
  const during = ticks();
  await ex.run(['sleep', '0.3'], { alongside: true });
  during.stop();
  assert.ok(during.count >= 5, `${during.count} ticks while the command ran alongside`);
  const blocked = ticks();
  await ex.run(['sleep', '0.3']);
  blocked.stop();
  assert.equal(blocked.count, 0, 'no tick while a synchronous command ran');
  assert.throws(() => runProcessSync([]), /empty argv/);
  await assert.rejects(runProcess([]), /empty argv/);
});

test('readFiles: the text of each file, undefined for one that does not exist', async () => {
  const [status, missing] = await ex.readFiles(['/proc/self/status', '/proc/net/no-such-file']);
  assert.match(status ?? '', /^Name:/);
  assert.equal(missing, undefined);
  await assert.rejects(ex.readFiles(['/proc/self']), /EISDIR/);
});

test('programOnPath: the first executable on PATH, links resolved; undefined when there is none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-path-'));
  try {
    writeFileSync(join(dir, 'plain'), '');
    symlinkSync('/bin/sh', join(dir, 'tool'));
    assert.equal(programOnPath('tool', `${dir}:/usr/bin`), realpathSync('/bin/sh'));
    assert.equal(programOnPath('plain', dir), undefined, 'not executable');
    assert.equal(programOnPath('no-such-program-here', dir), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
