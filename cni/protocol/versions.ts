// Which CNI specification versions pillion-cni speaks. 0.3.0 is the first with chained plugins
// and prevResult; CHECK exists from 0.4.0. 1.1.0 is not claimed: it would require STATUS and GC.
import { CniError, specCodes } from './errors.js';

export const supportedVersions = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;
export type CniVersion = (typeof supportedVersions)[number];
export const latestVersion: CniVersion = '1.0.0';

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
  return version === '0.4.0' || version === '1.0.0';
}

/** The VERSION command's answer. */
export function formatVersionInfo(): string {
  return `${JSON.stringify({ cniVersion: latestVersion, supportedVersions })}\n`;
}
