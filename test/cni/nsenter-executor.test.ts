// The CNI plugin's executor reading a namespace's files with one `head` process (root: it makes
// a network namespace of its own).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { NsenterExecutor } from '../../cni/netns/nsenter-executor.js';
import { requirePrivileges } from '../support/privileges.js';

function namespace(t: TestContext): string {
  const name = `pnse-${process.pid}`;
  spawnSync('ip', ['netns', 'del', name]);
  assert.equal(spawnSync('ip', ['netns', 'add', name]).status, 0);
  t.after(() => spawnSync('ip', ['netns', 'del', name]));
  assert.equal(spawnSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']).status, 0);
  return `/run/netns/${name}`;
}

test('readFiles: every file of the namespace with one process; a missing one is undefined', async (t) => {
  if (!requirePrivileges(t, ['nsenter', 'head'])) return;
  const ex = new NsenterExecutor({ netns: namespace(t), deadline: Date.now() + 10_000, lockWaitSeconds: 5 });
  const [names, inet6, missing] = await ex.readFiles(['/proc/net/ip_tables_names', '/proc/net/if_inet6', '/proc/net/no-such-file']);
  assert.equal((names ?? '').trim(), '', 'a new namespace has no legacy table');
  assert.match(inet6 ?? '', /^0{31}1 01 80 10 80\s+lo$/m, 'lo has ::1 once it is up');
  assert.equal(missing, undefined);
  assert.equal(ex.commands.length, 1);
  assert.deepEqual(ex.commands[0]?.slice(3, 5), ['head', '-v']);
});

test('readFiles rejects when head cannot run, so that the caller runs its commands instead', async (t) => {
  if (!requirePrivileges(t, ['nsenter'])) return;
  const ex = new NsenterExecutor({ netns: namespace(t), deadline: Date.now() + 10_000, lockWaitSeconds: 5 });
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await assert.rejects(ex.readFiles(['/proc/net/if_inet6']), /head could not read \/proc\/net\/if_inet6/);
  } finally {
    process.env.PATH = path;
  }
});
