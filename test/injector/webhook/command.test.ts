// `pillion webhook` as users run it: the built binary in a child process. Flag errors exit 2,
// start-up failures exit 1, and SIGTERM drains an in-flight review before exiting 0.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { connect } from 'node:tls';
import { pillionBin } from '../../support/paths.js';
import { waitFor } from './support/https-client.js';
import { buildReview, decodePatch, loadDeploymentPod, readAnswer } from './support/reviews.js';
import { createTestCa, issueServingPair, makeTempDir } from './support/tls.js';

/** A temporary folder (removed after the test) holding tls.crt and tls.key from a test CA. */
function servingFiles(t: TestContext): { dir: string; ca: ReturnType<typeof createTestCa> } {
  const tmp = makeTempDir('webhook-cmd');
  t.after(tmp.remove);
  const ca = createTestCa(tmp.dir);
  const pair = issueServingPair(ca);
  writeFileSync(join(tmp.dir, 'tls.crt'), pair.certPem);
  writeFileSync(join(tmp.dir, 'tls.key'), pair.keyPem);
  return { dir: tmp.dir, ca };
}

function runWebhook(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [pillionBin, 'webhook', ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
}

describe('pillion webhook command', () => {
  const usage: [string, string[], RegExp][] = [
    ['no certificate flags', [], /--cert and --key are required/],
    ['bad port', ['--cert', 'c', '--key', 'k', '--port', '70000'], /--port/],
    ['unknown flag', ['--cert', 'c', '--key', 'k', '--frobnicate'], /unknown option/],
    ['--self-signed without its names', ['--self-signed', '--service', 'pillion'], /--webhook-config-name, --namespace/],
    ['bad log level', ['--cert', 'c', '--key', 'k', '--log-level', 'loud'], /--log-level/],
  ];
  for (const [name, args, message] of usage) {
    test(`flag error (${name}) exits 2 with a message on stderr`, () => {
      const run = runWebhook(args);
      assert.equal(run.status, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, '');
    });
  }

  test('unreadable or mismatched certificates exit 1 naming the problem', (t) => {
    const tmp = makeTempDir('webhook-cmd');
    t.after(tmp.remove);
    const missing = runWebhook(['--cert', join(tmp.dir, 'nope.crt'), '--key', join(tmp.dir, 'nope.key'), '--port', '0']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope\.crt/);
    const ca = createTestCa(tmp.dir);
    const a = issueServingPair(ca);
    const b = issueServingPair(ca);
    writeFileSync(join(tmp.dir, 'a.crt'), a.certPem);
    writeFileSync(join(tmp.dir, 'b.key'), b.keyPem);
    const mismatched = runWebhook(['--cert', join(tmp.dir, 'a.crt'), '--key', join(tmp.dir, 'b.key'), '--port', '0']);
    assert.equal(mismatched.status, 1);
    assert.match(mismatched.stderr, /does not match/);
  });

  test('a broken --config exits 1 naming the file and key', (t) => {
    const tmp = servingFiles(t);
    writeFileSync(join(tmp.dir, 'config.yaml'), 'defaultPolicy: sometimes\n');
    const run = runWebhook(['--cert', join(tmp.dir, 'tls.crt'), '--key', join(tmp.dir, 'tls.key'), '--port', '0', '--config', join(tmp.dir, 'config.yaml')]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /config\.yaml.*defaultPolicy/);
  });

  test('--self-signed with no reachable API server exits 1 naming the webhook configuration', (t) => {
    const tmp = makeTempDir('webhook-cmd');
    t.after(tmp.remove);
    // No kube-apiserver here: point the client at a closed loopback port so nothing leaves the host.
    writeFileSync(
      join(tmp.dir, 'kubeconfig'),
      [
        'apiVersion: v1', 'kind: Config', 'current-context: none',
        'clusters: [{name: none, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
        'users: [{name: none, user: {token: x}}]', 'contexts: [{name: none, context: {cluster: none, user: none}}]',
      ].join('\n'),
    );
    const run = runWebhook(
      ['--self-signed', '--webhook-config-name', 'pillion-injector', '--service', 'pillion', '--namespace', 'pillion-system', '--port', '0',
        '--cert', join(tmp.dir, 'out', 'tls.crt'), '--key', join(tmp.dir, 'out', 'tls.key')],
      { KUBECONFIG: join(tmp.dir, 'kubeconfig'), KUBERNETES_SERVICE_HOST: '' },
    );
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /cannot patch the caBundle of MutatingWebhookConfiguration pillion-injector/);
  });

  test('SIGTERM stops accepting, completes the in-flight review, and exits 0', async (t) => {
    const tmp = servingFiles(t);
    const child: ChildProcess = spawn(process.execPath, [pillionBin, 'webhook', '--cert', join(tmp.dir, 'tls.crt'), '--key', join(tmp.dir, 'tls.key'), '--port', '0', '--host', '127.0.0.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    let stdout = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const listening = (): { port: number } | undefined => {
      for (const line of stderr.split('\n')) {
        if (line.includes('pillion webhook listening')) return JSON.parse(line) as { port: number };
      }
      return undefined;
    };
    assert.ok(await waitFor(() => listening() !== undefined, 15_000), `server did not start: ${stderr}`);
    const port = listening()?.port ?? 0;

    // An in-flight review: headers and half the body now, the rest after SIGTERM.
    const body = Buffer.from(JSON.stringify(buildReview(loadDeploymentPod(), { uid: 'in-flight' })));
    const socket = connect({ host: '127.0.0.1', port, ca: tmp.ca.certPem, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    let response = '';
    socket.on('data', (d: Buffer) => (response += d.toString()));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    const half = Math.floor(body.length / 2);
    socket.write(body.subarray(0, half));
    await new Promise((r) => setTimeout(r, 200));

    child.kill('SIGTERM');
    assert.ok(await waitFor(() => stderr.includes('shutting down'), 5000), 'shutdown began');
    // No new connections once draining began.
    const refused = await new Promise<string>((resolve) => {
      const probe = connect({ host: '127.0.0.1', port, ca: tmp.ca.certPem, servername: 'localhost' }, () => {
        probe.destroy();
        resolve('connected');
      });
      probe.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    assert.equal(refused, 'ECONNREFUSED');
    assert.equal(child.exitCode, null, 'still running while a review is in flight');

    socket.end(body.subarray(half));
    await closed;
    const [head, payload] = response.split('\r\n\r\n', 2);
    assert.match(head ?? '', /^HTTP\/1\.1 200 /);
    const answer = readAnswer(payload ?? '', 'in-flight');
    assert.ok(decodePatch(answer).length > 0);
    assert.equal(await exited, 0, stderr);
    assert.equal(stdout, '', 'stdout carries no logs');
  });
});
