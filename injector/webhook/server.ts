// The HTTPS server around the app: loads setup and certificates (start-up fails if either is
// broken), listens, keeps both fresh while running, and closes gracefully.
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { injectPod } from '../core/inject.js';
import { createAdmission } from './admission.js';
import type { InjectFn } from './admission.js';
import { addInjectorRoutes, createWebhookHttp } from './app.js';
import type { InjectorApp, WebhookHttpOptions } from './app.js';
import { readCertificatePair, toSecureContextOptions, watchCertificates } from './certificates.js';
import type { CertificateReloader } from './certificates.js';
import { createDecisionCache } from './decision-cache.js';
import { defaultPort } from './defaults.js';
import { loadKubeApi } from './kube-api.js';
import type { KubeApi } from './kube-api.js';
import { createWebhookMetrics } from './metrics.js';
import type { NamespaceLookup } from './namespace-lookup.js';
import { createCachedNamespaceLookup, createDefaultNamespaceLookup } from './namespace-lookup.js';
import { loadSetup } from '../core/setup.js';
import type { SetupFiles } from '../core/setup.js';
import { watchSetup } from './setup-source.js';
import type { ReloadableSetup } from './setup-source.js';

export interface WebhookServerOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** 0 picks a free port (tests). */
  readonly port?: number;
  readonly host?: string;
  readonly setupFiles?: SetupFiles;
  readonly bodyLimit?: number;
  /** Bound of the decision cache (see decision-cache.ts); 0 disables it. */
  readonly decisionCacheEntries?: number;
  /** Poll period for the file-change fallback. */
  readonly pollMs?: number;
  readonly logger?: WebhookHttpOptions['logger'];
  /** Default: in-cluster API lookup with a TTL cache, or "unknown" outside a cluster. */
  readonly namespaceLookup?: NamespaceLookup;
  /**
   * The API server for the default namespace lookup, as `pillion webhook` found it once for all its
   * uses; null: none. Default: loadKubeApi(). Unused when namespaceLookup is given.
   */
  readonly kubeApi?: KubeApi | null;
  readonly inject?: InjectFn;
}

export interface WebhookServer {
  readonly app: InjectorApp;
  readonly port: number;
  readonly host: string;
  readonly certificates: CertificateReloader;
  readonly setup: ReloadableSetup;
  /** Stop accepting, finish in-flight reviews, release watchers. Idempotent. */
  close(): Promise<void>;
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const setupFiles = options.setupFiles ?? {};
  // Both throw with the file named: a webhook that cannot inject or cannot do TLS must not start.
  const initialSetup = loadSetup(setupFiles);
  const initialPair = readCertificatePair(options.certFile, options.keyFile);

  // The HTTP side first, for its logger: everything below logs through it.
  const app = createWebhookHttp({
    https: toSecureContextOptions(initialPair),
    ...(options.bodyLimit === undefined ? {} : { bodyLimit: options.bodyLimit }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const namespaceLookup =
    options.namespaceLookup ?? createCachedNamespaceLookup(createDefaultNamespaceLookup(app.log, options.kubeApi === undefined ? loadKubeApi() : (options.kubeApi ?? undefined)));
  const log = app.log.child({ component: 'reload' });
  const tlsServer = app.server as HttpsServer;
  const certificates = watchCertificates(
    { certFile: options.certFile, keyFile: options.keyFile },
    initialPair,
    // New handshakes use the new context; connections already open keep theirs, so nothing in
    // flight fails during a rotation.
    (contextOptions) => tlsServer.setSecureContext(contextOptions),
    log,
    options.pollMs,
  );
  const setup = watchSetup(setupFiles, initialSetup, log, options.pollMs);
  const stopWatching = (): void => {
    certificates.close();
    setup.close();
  };

  // Then the routes, from their dependencies.
  let closing = false;
  addInjectorRoutes(app, {
    admission: createAdmission({
      setup,
      namespaceLookup,
      inject: options.inject ?? injectPod,
      cache: createDecisionCache(options.decisionCacheEntries),
    }),
    setup,
    metrics: createWebhookMetrics({ processMetrics: true }),
    // Certificates and setup are loaded before the app exists; only a shutdown makes it unready.
    readiness: () => (closing ? { ready: false, waitingFor: ['shutdown in progress'] } : { ready: true, waitingFor: [] }),
  });

  const host = options.host ?? '0.0.0.0';
  try {
    await app.listen({ port: options.port ?? defaultPort, host });
  } catch (error) {
    stopWatching();
    await app.close();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  app.log.info({ port: address.port, host, fingerprint256: initialPair.fingerprint256, templates: initialSetup.templates.names }, 'pillion webhook listening');

  let closed: Promise<void> | undefined;
  return {
    app,
    port: address.port,
    host,
    certificates,
    setup,
    close() {
      closed ??= (async () => {
        closing = true;
        stopWatching();
        await app.close();
      })();
      return closed;
    },
  };
}
