// Serving certificate: load, validate, and swap into the running TLS server when the files change.
// A half-rotated pair (new cert, old key) or a corrupt file must never replace a working pair: the
// server would then fail every handshake and, with failurePolicy Fail, block pod creation cluster-wide.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { SecureContextOptions } from 'node:tls';
import { WebhookError } from './errors.js';
import { watchReloadable } from './reloader.js';
import type { Reloadable, Reloader, ReloadLogger } from './reloader.js';

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

/** Options for the TLS server / setSecureContext built from a pair (minVersion kept on every swap). */
export function toSecureContextOptions(pair: CertificatePair): SecureContextOptions {
  return { cert: pair.cert, key: pair.key, minVersion: minTlsVersion };
}

/** Parse and cross-check a pair. Throws WebhookError 'certificate' naming the file and the problem. */
export function validateCertificatePair(cert: Buffer, key: Buffer, certFile: string, keyFile: string): CertificatePair {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new WebhookError('certificate', `${certFile}: not a PEM certificate (${String(error)})`, { cause: error });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new WebhookError('certificate', `${keyFile}: not a PEM private key (${String(error)})`, { cause: error });
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new WebhookError('certificate', `${keyFile} does not match the certificate in ${certFile}`);
  }
  const pair: CertificatePair = { cert, key, fingerprint256: x509.fingerprint256, serialNumber: x509.serialNumber, validTo: x509.validTo };
  try {
    // What the TLS server will do with it; catches anything the checks above let through.
    createSecureContext(toSecureContextOptions(pair));
  } catch (error) {
    throw new WebhookError('certificate', `${certFile}/${keyFile}: unusable for TLS (${String(error)})`, { cause: error });
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
    throw new WebhookError('certificate', `cannot read certificate files: ${String(error)}`, { cause: error });
  }
  return validateCertificatePair(cert, key, certFile, keyFile);
}

export type CertificateReloader = Reloader<CertificatePair>;

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
  const source: Reloadable<CertificatePair, { cert: Buffer; key: Buffer }> = {
    watch: { files: [files.certFile, files.keyFile] },
    read: () => ({ cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) }),
    same: (a, b) => a.cert.equals(b.cert) && a.key.equals(b.key),
    load: ({ cert, key }) => validateCertificatePair(cert, key, files.certFile, files.keyFile),
    install: (pair) => install(toSecureContextOptions(pair)),
    reloaded: (pair) => [{ fingerprint256: pair.fingerprint256, serialNumber: pair.serialNumber, validTo: pair.validTo }, 'serving certificate reloaded'],
    rejected: 'new certificate rejected; keeping the current certificate',
    // Mid-swap a file can be briefly absent; the next event or poll retries.
    unreadable: 'cannot read certificate files; keeping the current certificate',
    unwatchable: 'cannot watch certificate folder; relying on polling',
  };
  return watchReloadable(source, initial, { cert: initial.cert, key: initial.key }, log, pollMs);
}
