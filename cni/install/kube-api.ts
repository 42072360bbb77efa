// The node agent's few calls to the API server, over node:https with its own service account:
// the token and CA are read from the projected volume on every request, so a rotated token is
// used as soon as the kubelet writes it. No client library: the agent runs on every node, and
// these are a handful of GETs, a DELETE, a PATCH, a POST and one watch stream.
import { request, type RequestOptions } from 'node:https';
import { readServiceAccount } from './kubeconfig.js';

export interface ApiResponse {
  readonly status: number;
  readonly body: string;
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    /** The HTTP status, or 0 when there was no answer. */
    readonly status: number,
  ) {
    super(message);
  }
}

export interface KubeApiOptions {
  /** https://HOST:PORT */
  readonly server: string;
  /** Holds `token` and `ca.crt`. */
  readonly serviceAccountDir: string;
  /** One request, connect to last byte (not a watch). */
  readonly timeoutMs?: number;
  readonly userAgent?: string;
}

export class KubeApi {
  constructor(private readonly options: KubeApiOptions) {}

  private requestOptions(method: string, path: string, headers: Record<string, string>, signal?: AbortSignal): { url: URL; options: RequestOptions } {
    const material = readServiceAccount(this.options.serviceAccountDir);
    return {
      url: new URL(path, this.options.server),
      options: {
        method,
        ca: material.ca,
        // Explicit, so NODE_TLS_REJECT_UNAUTHORIZED in the environment cannot turn it off.
        rejectUnauthorized: true,
        headers: {
          authorization: `Bearer ${material.token}`,
          accept: 'application/json',
          'user-agent': this.options.userAgent ?? 'pillion-cni-install',
          ...headers,
        },
        ...(signal === undefined ? {} : { signal }),
      },
    };
  }

  /** One request; resolves with any HTTP status, rejects (ApiError status 0) without an answer. */
  call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<ApiResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    let prepared: ReturnType<KubeApi['requestOptions']>;
    try {
      prepared = this.requestOptions(method, path, payload === undefined ? {} : { 'content-type': contentType, 'content-length': String(payload.length) });
    } catch (error) {
      return Promise.reject(new ApiError((error as Error).message, 0));
    }
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const req = request(prepared.url, prepared.options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => reject(new ApiError(`${method} ${path}: ${error.message}`, 0)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      // One deadline for the whole exchange: a server that accepts and then says nothing is down too.
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('close', () => clearTimeout(timer));
      req.on('error', (error) => reject(new ApiError(`${method} ${path}: ${error.message}`, 0)));
      req.end(payload);
    });
  }

  /** A 2xx answer's body as JSON, or an ApiError naming the status and the API's message. */
  async json<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const response = await this.call(method, path, body, contentType);
    if (response.status < 200 || response.status > 299) throw new ApiError(`${method} ${path}: ${response.status} ${statusMessage(response.body)}`, response.status);
    return JSON.parse(response.body) as T;
  }

  /**
   * A watch stream: `onEvent` gets each JSON line. Resolves when the server ends the stream (its
   * timeoutSeconds), rejects on a non-200 answer, a broken connection, or `idleMs` without a byte.
   */
  watch(path: string, onEvent: (event: unknown) => void, signal: AbortSignal, idleMs: number): Promise<void> {
    let prepared: ReturnType<KubeApi['requestOptions']>;
    try {
      prepared = this.requestOptions('GET', path, {}, signal);
    } catch (error) {
      return Promise.reject(new ApiError((error as Error).message, 0));
    }
    return new Promise((resolve, reject) => {
      let idle: NodeJS.Timeout | undefined;
      // An exception of onEvent ends the watch with that very error.
      let thrown: Error | undefined;
      const req = request(prepared.url, prepared.options, (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => reject(new ApiError(`watch: ${res.statusCode ?? 0} ${statusMessage(Buffer.concat(chunks).toString('utf8'))}`, res.statusCode ?? 0)));
          res.on('error', (error) => reject(new ApiError(`watch: ${error.message}`, 0)));
          return;
        }
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          arm();
          pending += chunk;
          let newline: number;
          while ((newline = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, newline).trim();
            pending = pending.slice(newline + 1);
            if (line === '') continue;
            try {
              onEvent(JSON.parse(line));
            } catch (error) {
              thrown = error as Error;
              req.destroy(thrown);
              return;
            }
          }
        });
        res.on('end', () => {
          clearTimeout(idle);
          resolve();
        });
        res.on('error', (error) => reject(new ApiError(`watch: ${error.message}`, 0)));
      });
      const arm = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => req.destroy(new Error(`watch: nothing for ${idleMs} ms`)), idleMs);
      };
      arm();
      req.on('close', () => clearTimeout(idle));
      req.on('error', (error) => {
        clearTimeout(idle);
        reject(thrown ?? (signal.aborted ? new ApiError('watch: stopped', 0) : new ApiError(`watch: ${error.message}`, 0)));
      });
      req.end();
    });
  }
}

/** The message of a Kubernetes Status body, or the body's start. */
export function statusMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}
