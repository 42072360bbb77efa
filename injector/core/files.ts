// Reading the files a flag names (config, values): one message shape for every front end.
import { readFileSync } from 'node:fs';

/** A file named by a flag cannot be read. `message` starts with the file name. */
export class FileReadError extends Error {
  override name = 'FileReadError';
}

/** The file's text; FileReadError "<file>: cannot read the <what>: <errno code>" otherwise. */
export function readTextFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new FileReadError(`${file}: cannot read the ${what}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
