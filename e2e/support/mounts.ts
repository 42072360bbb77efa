// The mounts this process sees (/proc/self/mounts), each with its mount point decoded (the kernel
// writes a space in a path as \040) and its filesystem type.
import { readFileSync } from 'node:fs';

export interface Mount {
  readonly point: string;
  readonly type: string;
}

export function readMounts(): Mount[] {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((line) => line !== '').map((line) => {
    const fields = line.split(' ');
    return { point: (fields[1] ?? '').replace(/\\040/g, ' '), type: fields[2] ?? '' };
  });
}
