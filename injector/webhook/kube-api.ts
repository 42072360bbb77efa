// The API server the webhook talks to, and the few calls it makes there (a namespace's labels, the
// cluster's version, the caBundle patch of --self-signed), over node:https. Found once at start-up,
// the same way for every use: in-cluster (the service account's token and CA) when
// KUBERNETES_SERVICE_HOST is set; else the kubeconfig KUBECONFIG names (a webhook run outside the
// cluster, as in development or the real-API-server e2e test); else none.
//
// @kubernetes/client-node is not loaded for this: it added about 50 MiB to the webhook's RSS
// (importing the server: 128 MiB with it, 80 without). A kubeconfig the small reader below does not
// cover (a user with an exec plugin, an auth provider, a password or impersonation, a proxy-url,
// several files merged) is handed to client-node, loaded only then, for each request's credentials.
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { RequestOptions as HttpsRequestOptions } from 'node:https';
import { delimiter, dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isPlainObject } from '../core/json.js';
import type { JsonObject } from '../core/types.js';

export interface KubeRequest {
  /** JSON-serialised as the request body. */
  readonly body?: unknown;
  /** Content-Type of the body; default application/json. */
  readonly contentType?: string;
  /** The request fails after this long without an answer; default 10 s. */
  readonly timeoutMs?: number;
}

export interface KubeApi {
  /** Where the API server was found (for messages): "in-cluster" or the kubeconfig's path. */
  readonly source: string;
  /** One JSON call; resolves with the parsed body of a 2xx answer, rejects with KubeApiError otherwise. */
  request(method: 'GET' | 'PATCH', path: string, options?: KubeRequest): Promise<unknown>;
}

export class KubeApiError extends Error {
  /** HTTP status; undefined when no answer came (network, TLS, timeout). */
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KubeApiError';
    this.status = status;
  }
}

/** Where a pod's service account files are mounted. */
export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Token files are read again after this long (projected tokens rotate; client-go does the same). */
const tokenRereadMs = 60_000;

/** Bound of an answer's body: a namespace or a webhook configuration is a few KB. */
const maxAnswerBytes = 4 * 1024 * 1024;

interface TlsSettings {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized?: boolean;
  readonly servername?: string;
}

/** What a request needs beyond method and path: the server, TLS settings and credentials. */
interface Endpoint {
  readonly server: URL;
  readonly tls: TlsSettings;
  /** Headers carrying the credentials, computed per request (tokens rotate). */
  readonly authHeaders: () => Promise<Record<string, string>>;
  /** client-node's kubeconfigs: it sets TLS material, agent and credentials on each request's options. */
  readonly applyTo?: (options: HttpsRequestOptions) => Promise<void>;
}

export interface LoadOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The service account mount; tests point it elsewhere. */
  readonly serviceAccountDir?: string;
}

/**
 * The API server to use, or undefined when there is none (not in a cluster, no KUBECONFIG).
 * Throws when KUBECONFIG names a file that cannot be read or is not a kubeconfig. In a cluster, the
 * service account's files are read by the first request, and a missing one fails that request.
 */
export function loadKubeApi(options: LoadOptions = {}): KubeApi | undefined {
  const env = options.env ?? process.env;
  if ((env.KUBERNETES_SERVICE_HOST ?? '') !== '') {
    return createKubeApi('in-cluster', inClusterEndpoint(env, options.serviceAccountDir ?? serviceAccountDir));
  }
  const kubeconfig = env.KUBECONFIG ?? '';
  if (kubeconfig === '') return undefined;
  const files = kubeconfig.split(delimiter).filter((file) => file !== '');
  const only = files.length === 1 ? files[0] : undefined;
  const endpoint = only === undefined ? undefined : kubeconfigEndpoint(only);
  return createKubeApi(kubeconfig, endpoint === undefined ? clientNodeEndpoint(kubeconfig) : () => Promise.resolve(endpoint));
}

function inClusterEndpoint(env: NodeJS.ProcessEnv, dir: string): () => Promise<Endpoint> {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  // As client-go and client-node: these ports are plain HTTP (a local proxy).
  const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
  const server = new URL(`${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`);
  const authHeaders = bearerFromFile(`${dir}/token`);
  // The files are read at the first request, not at start-up: a pod without a mounted token
  // (automountServiceAccountToken: false) still serves pods that need no API call.
  let endpoint: Endpoint | undefined;
  return () => {
    try {
      endpoint ??= { server, tls: { ca: readFileSync(`${dir}/ca.crt`, 'utf8') }, authHeaders };
      return Promise.resolve(endpoint);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
}

function bearerFromFile(file: string): () => Promise<Record<string, string>> {
  let token: string | undefined;
  let readAt = 0;
  return () => {
    const now = Date.now();
    if (token === undefined || now - readAt > tokenRereadMs) {
      token = readFileSync(file, 'utf8').trim();
      readAt = now;
    }
    return Promise.resolve({ authorization: `Bearer ${token}` });
  };
}

/** The current context of one kubeconfig file, when its cluster and user are of the plain kinds. */
function kubeconfigEndpoint(file: string): Endpoint | undefined {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the kubeconfig ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const fail = (why: string): never => {
    throw new Error(`kubeconfig ${file}: ${why}`);
  };
  if (!isPlainObject(doc)) return fail('not a kubeconfig (expected a map)');
  const contextName = doc['current-context'];
  if (typeof contextName !== 'string' || contextName === '') return fail('no current-context');
  const named = (list: string, name: unknown, field: string): JsonObject => {
    const entries = Array.isArray(doc[list]) ? doc[list] : [];
    const entry = entries.find((item): item is JsonObject => isPlainObject(item) && item.name === name);
    const value = entry?.[field];
    if (!isPlainObject(value)) return fail(`${list}: no ${JSON.stringify(name)}`);
    return value;
  };
  const context = named('contexts', contextName, 'context');
  const cluster = named('clusters', context.cluster, 'cluster');
  const user = context.user === undefined ? {} : named('users', context.user, 'user');
  // Anything but a token or a client certificate (and a server reached without a proxy) is
  // client-node's: other credentials, impersonation.
  const plainUser = ['exec', 'auth-provider', 'username', 'password', 'as', 'as-uid', 'as-groups', 'as-user-extra'].every((key) => user[key] === undefined);
  if (!plainUser || cluster['proxy-url'] !== undefined) return undefined;
  const base = dirname(resolve(file));
  const text = (value: unknown, field: string): string => {
    if (typeof value !== 'string' || value === '') return fail(`${field} must be a non-empty string`);
    return value;
  };
  const material = (dataKey: string, fileKey: string, owner: JsonObject): string | undefined => {
    if (owner[dataKey] !== undefined) return Buffer.from(text(owner[dataKey], dataKey), 'base64').toString('utf8');
    if (owner[fileKey] !== undefined) return readFileSync(resolve(base, text(owner[fileKey], fileKey)), 'utf8');
    return undefined;
  };
  const server = new URL(text(cluster.server, 'server'));
  const ca = material('certificate-authority-data', 'certificate-authority', cluster);
  const cert = material('client-certificate-data', 'client-certificate', user);
  const key = material('client-key-data', 'client-key', user);
  const tls: Endpoint['tls'] = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(cluster['insecure-skip-tls-verify'] === true ? { rejectUnauthorized: false } : {}),
    ...(typeof cluster['tls-server-name'] === 'string' ? { servername: cluster['tls-server-name'] } : {}),
  };
  let authHeaders: Endpoint['authHeaders'] = () => Promise.resolve({});
  if (user.token !== undefined) {
    const headers = { authorization: `Bearer ${text(user.token, 'token')}` };
    authHeaders = () => Promise.resolve(headers);
  } else if (user.tokenFile !== undefined) {
    authHeaders = bearerFromFile(resolve(base, text(user.tokenFile, 'tokenFile')));
  }
  return { server, tls, authHeaders };
}

/** A kubeconfig only client-node reads: loaded on first use, asked for every request's credentials. */
function clientNodeEndpoint(kubeconfig: string): () => Promise<Endpoint> {
  let loaded: Promise<Endpoint> | undefined;
  const load = async (): Promise<Endpoint> => {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const config = new KubeConfig();
    config.loadFromDefault();
    const cluster = config.getCurrentCluster();
    if (cluster === null) throw new Error(`kubeconfig ${kubeconfig}: no current cluster`);
    return { server: new URL(cluster.server), tls: {}, authHeaders: () => Promise.resolve({}), applyTo: (options) => config.applyToHTTPSOptions(options) };
  };
  return () => (loaded ??= load());
}

function createKubeApi(source: string, endpointOf: () => Promise<Endpoint>): KubeApi {
  let agent: HttpAgent | undefined;
  return {
    source,
    async request(method, path, options = {}) {
      const endpoint = await endpointOf();
      const secure = endpoint.server.protocol === 'https:';
      const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body), 'utf8');
      const headers: Record<string, string> = {
        accept: 'application/json',
        ...(await endpoint.authHeaders()),
        ...(body === undefined ? {} : { 'content-type': options.contentType ?? 'application/json', 'content-length': String(body.length) }),
      };
      const requestOptions: HttpsRequestOptions = {};
      if (endpoint.applyTo !== undefined) {
        await endpoint.applyTo(requestOptions);
        Object.assign(headers, requestOptions.headers);
      } else {
        // One keep-alive agent: namespace lookups reuse the connection (an idle socket does not
        // keep the process alive).
        agent ??= secure ? new HttpsAgent({ keepAlive: true, maxSockets: 4, ...endpoint.tls }) : new HttpAgent({ keepAlive: true, maxSockets: 4 });
        Object.assign(requestOptions, endpoint.tls, { agent });
      }
      Object.assign(requestOptions, {
        method,
        hostname: endpoint.server.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: endpoint.server.port === '' ? (secure ? 443 : 80) : Number(endpoint.server.port),
        path: `${endpoint.server.pathname.replace(/\/+$/, '')}${path}`,
        headers,
      });
      return send(secure, requestOptions, body, `${method} ${path}`, options.timeoutMs ?? 10_000);
    },
  };
}

function send(secure: boolean, options: HttpsRequestOptions, body: Buffer | undefined, what: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolvePromise, reject) => {
    const fail = (message: string, status: number | undefined, cause?: unknown): void => {
      reject(new KubeApiError(`${what}: ${message}`, status, cause === undefined ? undefined : { cause }));
    };
    const req = (secure ? httpsRequest : httpRequest)(options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxAnswerBytes) {
          req.destroy();
          fail(`answer larger than ${maxAnswerBytes} bytes`, res.statusCode);
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (error) => fail(error.message, res.statusCode, error));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (status >= 200 && status < 300) {
          if (parsed === undefined && text !== '') fail(`${status} with a body that is not JSON`, status);
          else resolvePromise(parsed);
          return;
        }
        // A Status object says why; else the first line of whatever came.
        const message = isPlainObject(parsed) && typeof parsed.message === 'string' ? parsed.message : text.split('\n')[0]?.slice(0, 200) ?? '';
        fail(`${status} ${res.statusMessage ?? ''}${message === '' ? '' : `: ${message}`}`, status);
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (error) => fail(error.message, undefined, error));
    req.end(body);
  });
}
