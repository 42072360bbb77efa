// One pod, read from the API server: GET /api/v1/namespaces/NS/pods/NAME over HTTPS with the
// plugin's kubeconfig. Each attempt is bounded (apiTimeoutMs, default 2 s, connect to last byte)
// and only transient failures are retried, a bounded number of times: the runtime waits for us.
import { CniError, pluginCodes, specCodes } from '../protocol/errors.js';
import type { ApiCredentials } from './kubeconfig.js';

export interface PodIdentity {
  readonly namespace: string;
  readonly name: string;
  /** K8S_POD_UID when the runtime passed it: the sandbox belongs to exactly this pod. */
  readonly uid: string | undefined;
}

export interface LookupOptions {
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly log: (line: string) => void;
}

type Attempt =
  | { readonly kind: 'ok'; readonly body: string }
  | { readonly kind: 'status'; readonly status: number; readonly body: string }
  | { readonly kind: 'transport'; readonly error: string };

async function getOnce(credentials: ApiCredentials, path: string, timeoutMs: number): Promise<Attempt> {
  // Loaded on first use: TLS costs start-up time that pods decided without the API never pay.
  // getBuiltinModule, not import(): the single executable's code cache rules out import().
  const { request } = process.getBuiltinModule('node:https');
  return new Promise((resolvePromise) => {
    let settled = false;
    const settle = (attempt: Attempt): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolvePromise(attempt);
    };
    const req = request(
      {
        protocol: 'https:',
        hostname: credentials.server.hostname.replace(/^\[|\]$/g, ''),
        port: credentials.server.port === '' ? 443 : Number(credentials.server.port),
        path,
        method: 'GET',
        headers: {
          Accept: 'application/json',
          'User-Agent': 'pillion-cni',
          ...(credentials.token === undefined ? {} : { Authorization: `Bearer ${credentials.token}` }),
        },
        ca: credentials.ca,
        cert: credentials.cert,
        key: credentials.key,
        // Explicit, so NODE_TLS_REJECT_UNAUTHORIZED in the runtime's environment cannot turn it off.
        rejectUnauthorized: true,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => settle({ kind: 'transport', error: error.message }));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          settle(res.statusCode === 200 ? { kind: 'ok', body } : { kind: 'status', status: res.statusCode ?? 0, body });
        });
      },
    );
    // One deadline for the whole exchange: a server that accepts and then says nothing is down too.
    const timer = setTimeout(() => {
      settle({ kind: 'transport', error: `no answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (error) => settle({ kind: 'transport', error: error.message }));
    req.end();
  });
}

function isTransient(attempt: Attempt): boolean {
  return attempt.kind === 'transport' || (attempt.kind === 'status' && (attempt.status === 429 || attempt.status >= 500));
}

function describe(attempt: Attempt): string {
  if (attempt.kind === 'transport') return attempt.error;
  if (attempt.kind === 'status') return `HTTP ${attempt.status}`;
  return 'HTTP 200';
}

function apiMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    return typeof status.message === 'string' ? status.message : body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}

/** The pod's annotations, or a CNI error saying why they could not be had. */
export async function fetchPodAnnotations(credentials: ApiCredentials, pod: PodIdentity, options: LookupOptions): Promise<Record<string, string>> {
  const path = `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}`;
  const who = `pod ${pod.namespace}/${pod.name}`;
  const failures: string[] = [];
  let attempt: Attempt = { kind: 'transport', error: 'not tried' };
  for (let n = 1; n <= options.attempts; n++) {
    if (n > 1) await new Promise((r) => setTimeout(r, 100 * 2 ** (n - 2)));
    attempt = await getOnce(credentials, path, options.timeoutMs);
    if (!isTransient(attempt)) break;
    failures.push(`attempt ${n}: ${describe(attempt)}`);
    options.log(`GET ${who}: attempt ${n} of ${options.attempts} failed: ${describe(attempt)}`);
  }
  if (attempt.kind === 'ok') return readAnnotations(attempt.body, pod, who);
  if (attempt.kind === 'status' && (attempt.status === 401 || attempt.status === 403)) {
    throw new CniError(pluginCodes.apiRefused, `the API server refused to show ${who} (HTTP ${attempt.status})`, apiMessage(attempt.body));
  }
  if (attempt.kind === 'status' && attempt.status === 404) {
    // Deleted meanwhile (then nobody retries), or a static pod whose mirror pod is not there yet.
    throw new CniError(specCodes.tryAgainLater, `${who} not found in the API server`, apiMessage(attempt.body));
  }
  if (attempt.kind === 'status' && !isTransient(attempt)) {
    throw new CniError(specCodes.tryAgainLater, `the API server answered HTTP ${attempt.status} for ${who}`, apiMessage(attempt.body));
  }
  throw new CniError(
    specCodes.tryAgainLater,
    `cannot read ${who} from the API server ${credentials.server.origin}: whether it must be captured is unknown`,
    failures.join('; '),
  );
}

function readAnnotations(body: string, pod: PodIdentity, who: string): Record<string, string> {
  let object: { metadata?: { uid?: unknown; annotations?: unknown } };
  try {
    object = JSON.parse(body) as typeof object;
  } catch {
    throw new CniError(specCodes.decodingFailure, `the API server's answer for ${who} is not JSON`);
  }
  const uid = object.metadata?.uid;
  if (pod.uid !== undefined && uid !== pod.uid) {
    // Same name, another pod (a StatefulSet replica recreated): its settings are not this sandbox's.
    throw new CniError(specCodes.tryAgainLater, `${who} in the API server has uid ${String(uid)}, the sandbox is for uid ${pod.uid}`);
  }
  const annotations = object.metadata?.annotations ?? {};
  if (typeof annotations !== 'object' || annotations === null) return {};
  return annotations as Record<string, string>;
}
