// Test PKI made with the openssl CLI (argv arrays, files in a temp dir): a CA and serving
// certificates it signs, so the tests exercise the same PEM files a Secret mount would give.
import { spawnSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
}

export interface IssuedPair {
  readonly certPem: string;
  readonly keyPem: string;
  readonly fingerprint256: string;
  readonly serialNumber: string;
}

function openssl(args: readonly string[], cwd: string): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${run.stderr}`);
}

export function makeTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `pillion-${prefix}-${process.pid}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A P-256 CA valid for a day. */
export function createTestCa(dir: string, name = 'pillion-test-ca'): TestCa {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  openssl(
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return { dir, certFile, keyFile, certPem: readFileSync(certFile, 'utf8') };
}

/** A serving certificate for `dnsNames` (plus 127.0.0.1) signed by `ca`, with a fresh key. */
export function issueServingPair(ca: TestCa, dnsNames: readonly string[] = ['localhost']): IssuedPair {
  const id = randomBytes(6).toString('hex');
  const key = join(ca.dir, `leaf-${id}.key`);
  const csr = join(ca.dir, `leaf-${id}.csr`);
  const crt = join(ca.dir, `leaf-${id}.crt`);
  const ext = join(ca.dir, `leaf-${id}.ext`);
  writeFileSync(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${[...dnsNames.map((d) => `DNS:${d}`), 'IP:127.0.0.1'].join(',')}`,
    ].join('\n'),
  );
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${dnsNames[0] ?? 'localhost'}`], ca.dir);
  openssl(
    ['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '1', '-extfile', ext, '-out', crt],
    ca.dir,
  );
  const certPem = readFileSync(crt, 'utf8');
  const x509 = new X509Certificate(certPem);
  return { certPem, keyPem: readFileSync(key, 'utf8'), fingerprint256: x509.fingerprint256, serialNumber: x509.serialNumber };
}
