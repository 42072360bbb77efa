// The pod's network namespace must exist for ADD and CHECK; DEL tolerates its absence.
import { statSync } from 'node:fs';
import { CniError, specCodes } from '../protocol/errors.js';

export function netnsExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

export function requireNetns(path: string): void {
  if (!netnsExists(path)) throw new CniError(specCodes.containerUnknown, `network namespace ${path} does not exist`);
}
