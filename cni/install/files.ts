// File primitives for the node agent: hashing, and writing a file so that a reader (the
// runtime) only ever sees the old bytes or the new ones: temp file in the same directory,
// fsync, rename, fsync of the directory. Mode and owner are set explicitly (umask and the
// agent's uid must not change them).
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fchownSync, fsyncSync, lstatSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Bytes of a file, or undefined when it does not exist. */
export function readIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** What is at `path` itself (a link is not followed), or undefined when nothing can be found there. */
export function lstatIfPresent(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

export interface Ownership {
  readonly mode: number;
  readonly uid?: number;
  readonly gid?: number;
}

/** Mode bits (permissions only) and owner of an existing file. */
export function ownershipOf(path: string): Ownership {
  const stat = statSync(path);
  return { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `path` with `bytes` atomically. The temp file's name ends in `.tmp`, which no
 * runtime reads as a network configuration (only .conf, .conflist and .json).
 */
export function writeAtomic(path: string, bytes: Uint8Array, owner: Ownership): void {
  replaceAtomic(path, owner, (fd) => {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
  });
}

const chunkSize = 1 << 20;

/** Reads a file a chunk at a time (the plugin executable is over 100 MB: never whole). */
function eachChunk(path: string, use: (chunk: Buffer) => void): void {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(chunkSize);
    for (;;) {
      const read = readSync(fd, chunk, 0, chunkSize, null);
      if (read === 0) return;
      use(chunk.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` with a copy of `source`, atomically, like writeAtomic. */
export function copyAtomic(source: string, path: string, owner: Ownership): void {
  replaceAtomic(path, owner, (fd) =>
    eachChunk(source, (chunk) => {
      let offset = 0;
      while (offset < chunk.length) offset += writeSync(fd, chunk, offset, chunk.length - offset);
    }),
  );
}

/** sha256 of a file's bytes, read a chunk at a time; undefined when it does not exist. */
export function sha256File(path: string): string | undefined {
  const hash = createHash('sha256');
  try {
    eachChunk(path, (chunk) => hash.update(chunk));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return hash.digest('hex');
}

function replaceAtomic(path: string, owner: Ownership, fill: (fd: number) => void): void {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.pillion-${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    try {
      fill(fd);
      if (owner.uid !== undefined && owner.gid !== undefined && process.getuid?.() === 0) fchownSync(fd, owner.uid, owner.gid);
      fchmodSync(fd, owner.mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  fsyncDir(dir);
}

/** Removes a file (absent is fine) and makes the removal durable. */
export function removeDurably(path: string): void {
  rmSync(path, { force: true });
  try {
    fsyncDir(dirname(path));
  } catch {
    // the directory itself is gone: nothing left to make durable
  }
}
