// Serving certificate: load, validate, and swap into the running TLS server when the files change.
// A half-rotated pair (new cert, old key) or a corrupt file must never replace a working pair: the
// server would then fail every handshake and, with failurePolicy Fail, block pod creation cluster-wide.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { SecureContextOptions } from 'node:tls';
import { watchForChanges } from './file-watch.js';
import type { Watch } from './file-watch.js';

/** TLS 1.0/1.1 are refused; the API server speaks 1.2 and 1.3. */
export const minTlsVersion = 'TLSv1.2';

export interface CertificatePair {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** SHA-256 fingerprint of the leaf, for logs and tests. */
  readonly fingerprint256: string;
  readonly serialNumber: string;
  readonly validTo: string;
}

export class CertificateError extends Error {
  override name = 'CertificateError';
}

/** Options for the TLS server / setSecureContext built from a pair (minVersion kept on every swap). */
export function toSecureContextOptions(pair: CertificatePair): SecureContextOptions {
  return { cert: pair.cert, key: pair.key, minVersion: minTlsVersion };
}

/** Parse and cross-check a pair. Throws CertificateError naming the file and the problem. */
export function validateCertificatePair(cert: Buffer, key: Buffer, certFile: string, keyFile: string): CertificatePair {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new CertificateError(`${certFile}: not a PEM certificate (${String(error)})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new CertificateError(`${keyFile}: not a PEM private key (${String(error)})`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new CertificateError(`${keyFile} does not match the certificate in ${certFile}`);
  }
  const pair: CertificatePair = { cert, key, fingerprint256: x509.fingerprint256, serialNumber: x509.serialNumber, validTo: x509.validTo };
  try {
    // What the TLS server will do with it; catches anything the checks above let through.
    createSecureContext(toSecureContextOptions(pair));
  } catch (error) {
    throw new CertificateError(`${certFile}/${keyFile}: unusable for TLS (${String(error)})`);
  }
  return pair;
}

export function readCertificatePair(certFile: string, keyFile: string): CertificatePair {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certFile);
    key = readFileSync(keyFile);
  } catch (error) {
    throw new CertificateError(`cannot read certificate files: ${String(error)}`);
  }
  return validateCertificatePair(cert, key, certFile, keyFile);
}

export interface ReloadLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface CertificateReloader extends Watch {
  current(): CertificatePair;
  /** Re-read now; returns true when a new pair was installed. Called by the watcher. */
  check(): boolean;
}

/**
 * Keep `install` fed with the pair in certFile/keyFile. Starts from `initial`. A broken new pair is
 * logged once (per distinct content) and ignored; the previous pair stays in force.
 */
export function watchCertificates(
  files: { certFile: string; keyFile: string },
  initial: CertificatePair,
  install: (options: SecureContextOptions) => void,
  log: ReloadLogger,
  pollMs?: number,
): CertificateReloader {
  let current = initial;
  let lastRejected: { cert: Buffer; key: Buffer } | undefined;
  const check = (): boolean => {
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = readFileSync(files.certFile);
      key = readFileSync(files.keyFile);
    } catch (error) {
      // Mid-swap a file can be briefly absent; the next event or poll retries.
      log.error({ err: String(error) }, 'cannot read certificate files; keeping the current certificate');
      return false;
    }
    if (cert.equals(current.cert) && key.equals(current.key)) return false;
    if (lastRejected !== undefined && cert.equals(lastRejected.cert) && key.equals(lastRejected.key)) return false;
    try {
      const pair = validateCertificatePair(cert, key, files.certFile, files.keyFile);
      install(toSecureContextOptions(pair));
      log.info({ fingerprint256: pair.fingerprint256, serialNumber: pair.serialNumber, validTo: pair.validTo }, 'serving certificate reloaded');
      current = pair;
      lastRejected = undefined;
      return true;
    } catch (error) {
      lastRejected = { cert, key };
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'new certificate rejected; keeping the current certificate');
      return false;
    }
  };
  const watcher = watchForChanges({ files: [files.certFile, files.keyFile] }, () => void check(), {
    ...(pollMs === undefined ? {} : { pollMs }),
    onWatchError: (dir, error) => log.error({ dir, err: String(error) }, 'cannot watch certificate folder; relying on polling'),
  });
  return { current: () => current, check, close: () => watcher.close() };
}
