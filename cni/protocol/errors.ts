// CNI error objects. The specification reserves codes 1-99 (1-7 and 11 are defined; we use
// nothing else below 100) and leaves 100+ to the plugin. Every failure of pillion-cni is one of
// these, printed on stdout as {"cniVersion","code","msg","details"} with a non-zero exit.

/** Codes from the CNI specification ("Error" section). */
export const specCodes = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  containerUnknown: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodingFailure: 6,
  invalidNetworkConfig: 7,
  tryAgainLater: 11,
} as const;

/** Pillion's own codes (100+), documented in docs/cni.md. */
export const pluginCodes = {
  /** The API server refused the plugin's credentials (HTTP 401 or 403). */
  apiRefused: 100,
  /** The pod asks for capture, but its recorded settings are not valid pillion-init settings. */
  invalidCaptureSettings: 101,
  /** Programming the rules inside the pod's namespace failed; the namespace was left as it was (the details say when not). */
  applyFailed: 102,
  /** CHECK: the pod's rules are not the planned ones (flushed, changed or never installed). */
  rulesNotAsPlanned: 103,
} as const;

export class CniError extends Error {
  override name = 'CniError';
  constructor(
    readonly code: number,
    message: string,
    readonly details = '',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The error object the specification defines, in the version the request was made in. */
export function formatError(error: CniError, cniVersion: string): string {
  return `${JSON.stringify({ cniVersion, code: error.code, msg: error.message, details: error.details })}\n`;
}
