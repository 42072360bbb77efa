// Reading the files a flag names (config, values): one message shape for every front end.
import { readFileSync } from 'node:fs';
import { SetupError } from './errors.js';

const reasons: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** Why a file operation failed, in words ("no such file or folder"), not an errno code. */
export function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && Object.hasOwn(reasons, code)) return reasons[code] as string;
  return code ?? (error instanceof Error ? error.message : String(error));
}

/** The file's text; SetupError (file) "<file>: cannot read the <what>: <reason>" otherwise. */
export function readTextFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new SetupError(`${file}: cannot read the ${what}: ${describeFileError(error)}`, { cause: error });
  }
}
