// Writing a command line's output straight to its file descriptor. process.stderr and
// process.stdout are streams built on first use (for a pipe, a socket object and node:net's
// stream machinery), about 1–3 ms of a pillion-init run that writes a few lines; a synchronous
// write(2) to the descriptor costs neither, and leaves nothing to wait for at exit.
import { writeSync } from 'node:fs';
import type { Writable } from 'node:stream';

/**
 * A writer for `fd`: each text is written whole before `write` returns. Should the descriptor
 * refuse to block (EAGAIN: someone set O_NONBLOCK on a shared pipe), that text and every later one
 * go to `stream()` instead, in order. With `ignoreGone`, a reader that went away (EPIPE) loses the
 * text and nothing else: a log line must never fail the work it reports.
 */
export class FdWriter {
  private fallback: Writable | undefined;

  constructor(
    private readonly fd: number,
    private readonly stream: () => Writable,
    private readonly ignoreGone = false,
  ) {}

  /** Everything written so far has left this process: no stream still holds some of it. */
  get flushed(): boolean {
    return this.fallback === undefined || this.fallback.writableLength === 0;
  }

  readonly write = (text: string): void => {
    if (this.fallback !== undefined) {
      this.fallback.write(text);
      return;
    }
    let rest = Buffer.from(text);
    try {
      while (rest.length > 0) rest = rest.subarray(writeSync(this.fd, rest));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE' && this.ignoreGone) return;
      if (code !== 'EAGAIN') throw error;
      this.fallback = this.stream();
      this.fallback.write(rest);
    }
  };
}

/**
 * Ends a command line whose work is done: at once when its output has all left (Node would
 * otherwise spend a few ms tearing its heap down first, on every pod start), else once the
 * streams holding the rest have written it.
 */
export function exitWhenWritten(code: number, writers: readonly FdWriter[]): void {
  if (writers.every((w) => w.flushed)) process.exit(code);
  process.exitCode = code;
}
