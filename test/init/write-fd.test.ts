// FdWriter: pillion-init's and pillion-cni's stdout and stderr without stream objects. Text goes
// to the descriptor whole; a pipe that would block hands the rest, and all later text, to the
// stream in order (and the writer is not flushed until the stream has written it); a reader that
// went away costs a log line and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { FdWriter } from '../../init/cli/write-fd.js';

function withFifo(body: (fifo: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-fifo-'));
  try {
    const fifo = join(dir, 'pipe');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    body(fifo);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Test double (named as such): a stream that keeps what it is given, once `release` is called. */
function collectingStream(): { stream: Writable; text: () => string; release: () => void } {
  const chunks: Buffer[] = [];
  const held: (() => void)[] = [];
  const stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      chunks.push(Buffer.from(chunk));
      held.push(done);
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString(), release: () => held.splice(0).forEach((done) => done()) };
}

function drain(fd: number): string {
  const parts: Buffer[] = [];
  const buffer = Buffer.alloc(1 << 16);
  for (;;) {
    try {
      const n = readSync(fd, buffer);
      if (n === 0) break;
      parts.push(Buffer.from(buffer.subarray(0, n)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw error;
    }
  }
  return Buffer.concat(parts).toString();
}

test('a pipe that would block: the rest and every later text go to the stream, in order, nothing lost', () => {
  withFifo((fifo) => {
    // Read and write ends in this process, non-blocking: a full pipe says EAGAIN instead of waiting.
    const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    try {
      const fallback = collectingStream();
      let asked = 0;
      const writer = new FdWriter(fd, () => ((asked += 1), fallback.stream));
      writer.write('first line\n');
      assert.equal(asked, 0, 'no stream while the descriptor takes the text');
      assert.ok(writer.flushed);
      const big = 'y'.repeat(1 << 20);
      writer.write(big);
      writer.write('last line\n');
      assert.equal(asked, 1);
      assert.ok(!writer.flushed, 'the stream still holds text');
      fallback.release();
      assert.equal(drain(fd) + fallback.text(), `first line\n${big}last line\n`);
    } finally {
      closeSync(fd);
    }
  });
});

test('a reader that went away: a log writer drops the line, any other writer throws', () => {
  withFifo((fifo) => {
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const fd = openSync(fifo, constants.O_WRONLY);
    closeSync(reader);
    try {
      const unused = (): never => assert.fail('no stream for a pipe without a reader');
      assert.doesNotThrow(() => new FdWriter(fd, unused, true).write('pillion-init: a log line\n'));
      assert.throws(() => new FdWriter(fd, unused).write('data\n'), /EPIPE/);
    } finally {
      closeSync(fd);
    }
  });
});

test('exitWhenWritten ends the process at once when everything has left it, with the code given', () => {
  const module = new URL('../../init/cli/write-fd.js', import.meta.url).href;
  // A timer still pending would keep the process, and print "late", had it not exited at once.
  const script = [
    `const { FdWriter, exitWhenWritten } = await import(${JSON.stringify(module)});`,
    "setTimeout(() => process.stdout.write('late\\n'), 200);",
    'const out = new FdWriter(1, () => process.stdout);',
    "out.write('result\\n');",
    'exitWhenWritten(3, [out]);',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'result\n');
  assert.equal(r.status, 3);
});
