// The webhook's log destination: one write per event-loop turn, lines in order, nothing lost when
// the process exits with lines pending.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { turnBufferedStream } from '../../../injector/webhook/log-stream.js';
import { repoPath } from '../../support/paths.js';

test('the lines of one turn are written together, in order, when the turn ends', async () => {
  const writes: string[] = [];
  const stream = turnBufferedStream({ write: (text: string) => writes.push(text) });
  stream.write('one\n');
  stream.write('two\n');
  assert.deepEqual(writes, []);
  await nextTurn();
  assert.deepEqual(writes, ['one\ntwo\n']);
  stream.write('three\n');
  await nextTurn();
  assert.deepEqual(writes, ['one\ntwo\n', 'three\n']);
});

test('lines pending at process.exit are written', () => {
  const module = pathToFileURL(repoPath('dist', 'injector', 'webhook', 'log-stream.js')).href;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { turnBufferedStream } = await import(${JSON.stringify(module)});
    const stream = turnBufferedStream(process.stderr);
    stream.write('last words\\n');
    process.exit(3);
  `], { encoding: 'utf8' });
  assert.equal(run.status, 3, run.stderr);
  assert.equal(run.stderr, 'last words\n');
});
