// Where `pillion inject` and `pillion uninject` write: straight to descriptors 1 and 2 (init's
// FdWriter), so that no stream is built for a few writes and the process can end the moment its
// output has left. Left to end by itself, Node first finishes the garbage collector's pending
// work and tears its heap down: ~20 ms after the last byte of an 81 KB manifest (issue 11).
import { exitWhenWritten, FdWriter } from '../../init/index.js';

/** The reader of stdout went away (`| head`): end as a program killed by SIGPIPE, quietly. */
const readerGone = 141;

function exitWhenReaderGoes(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  return stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(readerGone);
  });
}

const stdout = new FdWriter(1, () => exitWhenReaderGoes(process.stdout));
// A closed stderr only loses the report.
const stderr = new FdWriter(2, () => process.stderr.on('error', () => undefined), true);

/** Manifests, the only thing on stdout. */
export function writeOutput(text: string): void {
  try {
    stdout.write(text);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
    process.exit(readerGone);
  }
}

/** Reports, problems and messages. */
export const writeLog = stderr.write;

/** End the command with `code` once everything written has left. */
export function exitWith(code: number): void {
  exitWhenWritten(code, [stdout, stderr]);
}
