// Writing a command line's output straight to its file descriptor. process.stderr and
// process.stdout are streams built on first use (for a pipe, a socket object and node:net's
// stream machinery), about 1–3 ms of a pillion-init run that writes a few lines; a synchronous
// write(2) to the descriptor costs neither.
import { writeSync } from 'node:fs';

/**
 * A writer for `fd`: each text is written whole before it returns. Should the descriptor refuse
 * to block (EAGAIN: someone set O_NONBLOCK on a shared pipe), that text and every later one go to
 * `stream()` instead, in order. With `ignoreGone`, a reader that went away (EPIPE) loses the text
 * and nothing else: a log line must never fail the work it reports.
 */
export function fdWriter(fd: number, stream: () => NodeJS.WritableStream, ignoreGone = false): (text: string) => void {
  let fallback: NodeJS.WritableStream | undefined;
  return (text) => {
    if (fallback !== undefined) {
      fallback.write(text);
      return;
    }
    let rest = Buffer.from(text);
    try {
      while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE' && ignoreGone) return;
      if (code !== 'EAGAIN') throw error;
      fallback = stream();
      fallback.write(rest);
    }
  };
}
