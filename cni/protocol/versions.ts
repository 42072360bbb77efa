// Which CNI specification versions pillion-cni speaks. 0.3.0 is the first with chained plugins
// and prevResult; CHECK exists from 0.4.0; 1.1.0 adds STATUS and GC (main.ts answers both) and
// keeps 1.0.0's result format, which ADD passes through unchanged.
import { CniError, specCodes } from './errors.js';

export const supportedVersions = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof supportedVersions)[number];
export const latestVersion: CniVersion = '1.1.0';

export function isSupportedVersion(version: unknown): version is CniVersion {
  return typeof version === 'string' && (supportedVersions as readonly string[]).includes(version);
}

/** Throws the specification's "incompatible CNI version" error for anything else. */
export function requireSupportedVersion(version: unknown): CniVersion {
  if (isSupportedVersion(version)) return version;
  throw new CniError(
    specCodes.incompatibleVersion,
    `incompatible CNI version ${JSON.stringify(version)}`,
    `pillion-cni supports ${supportedVersions.join(', ')}`,
  );
}

/** CHECK was introduced by specification 0.4.0. */
export function allowsCheck(version: CniVersion): boolean {
  return version !== '0.3.0' && version !== '0.3.1';
}

/** STATUS and GC were introduced by specification 1.1.0; asked in an older version, refused as libcni's skel does. */
export function requireStatusAndGc(version: CniVersion, command: 'STATUS' | 'GC'): void {
  if (version === '1.1.0') return;
  throw new CniError(specCodes.incompatibleVersion, `config version ${version} does not allow ${command}`, 'STATUS and GC exist from CNI 1.1.0');
}

/** The VERSION command's answer. */
export function formatVersionInfo(): string {
  return `${JSON.stringify({ cniVersion: latestVersion, supportedVersions })}\n`;
}
