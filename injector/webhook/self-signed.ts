// `--self-signed`: make a private CA and a serving certificate at start-up, and publish the CA in
// the MutatingWebhookConfiguration's caBundle so the API server trusts us. For clusters without
// cert-manager; the CA's private key never leaves this process's memory, so every restart makes
// a new CA and re-patches the caBundle.
import { randomBytes, webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its parts with tsyringe, which needs the Reflect metadata polyfill
// loaded first (ESM evaluates imports in order).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { isPlainObject } from '../core/json.js';
import type { KubeApi } from './kube-api.js';

// @peculiar/x509 needs a WebCrypto provider; Node's is complete for ECDSA P-256.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export interface GeneratedCertificates {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** The DNS names in the serving certificate. */
  readonly dnsNames: readonly string[];
}

export interface SelfSignedOptions {
  readonly service: string;
  readonly namespace: string;
  readonly validDays?: number;
  readonly now?: Date;
}

/** A positive 128-bit serial (RFC 5280 wants positive, at most 20 octets, unpredictable). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function toPem(der: ArrayBuffer, label: string): string {
  const base64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${base64}-----END ${label}-----\n`;
}

/** The names the API server may use: it dials `<service>.<namespace>.svc` for a service reference. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}`, service];
}

export async function generateSelfSignedCertificates(options: SelfSignedOptions): Promise<GeneratedCertificates> {
  const notBefore = new Date((options.now ?? new Date()).getTime() - 60_000); // tolerate clock skew
  const notAfter = new Date(notBefore.getTime() + (options.validDays ?? 365) * 86_400_000);
  const dnsNames = serviceDnsNames(options.service, options.namespace);

  const caKeys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=pillion-webhook-ca.${options.namespace}`,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const leafKeys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${dnsNames[0]}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey);
  return {
    caPem: ca.toString('pem') + '\n',
    certPem: leaf.toString('pem') + '\n',
    keyPem: toPem(pkcs8, 'PRIVATE KEY'),
    dnsNames,
  };
}

/** The two calls the caBundle patch needs; the real one goes to the API server (kube-api.ts). */
export interface WebhookConfigurationClient {
  readWebhookNames(name: string): Promise<string[]>;
  applyJsonPatch(name: string, operations: readonly object[]): Promise<void>;
}

export function createKubeWebhookConfigurationClient(api: KubeApi): WebhookConfigurationClient {
  const pathOf = (name: string): string => `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(name)}`;
  return {
    async readWebhookNames(name) {
      const found = await api.request('GET', pathOf(name));
      const webhooks = isPlainObject(found) && Array.isArray(found.webhooks) ? found.webhooks : [];
      return webhooks.map((w) => (isPlainObject(w) && typeof w.name === 'string' ? w.name : ''));
    },
    async applyJsonPatch(name, operations) {
      await api.request('PATCH', pathOf(name), { body: operations, contentType: 'application/json-patch+json' });
    },
  };
}

/**
 * Set clientConfig.caBundle on every webhook of the configuration. Each replace is guarded by a
 * `test` of that webhook's name, so a concurrent edit that reorders the list fails the patch
 * (and start-up) instead of writing our CA into someone else's webhook.
 */
export function buildCaBundlePatch(webhookNames: readonly string[], caPem: string): object[] {
  const caBundle = Buffer.from(caPem, 'utf8').toString('base64');
  return webhookNames.flatMap((name, i) => [
    { op: 'test', path: `/webhooks/${i}/name`, value: name },
    { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle },
  ]);
}

export async function patchCaBundle(client: WebhookConfigurationClient, configurationName: string, caPem: string): Promise<number> {
  const names = await client.readWebhookNames(configurationName);
  if (names.length === 0) throw new Error(`MutatingWebhookConfiguration ${configurationName} has no webhooks to patch`);
  await client.applyJsonPatch(configurationName, buildCaBundlePatch(names, caPem));
  return names.length;
}
