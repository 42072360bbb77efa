// The plugin's kubeconfig: the JSON file pillion-cni-install writes (JSON is a YAML subset, so
// kubectl reads it too). Only what one GET needs: server, CA, and a bearer token or a client
// certificate. Read synchronously: it is small, and the plugin does nothing else meanwhile.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CniError, specCodes } from '../protocol/errors.js';
import { isObject } from '../protocol/json.js';

export interface ApiCredentials {
  readonly server: URL;
  readonly ca: string | undefined;
  readonly token: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
}

type Json = Record<string, unknown>;

function named(list: unknown, name: unknown, what: string, file: string): Json {
  const entry: unknown = Array.isArray(list) ? list.find((e: unknown) => isObject(e) && e.name === name) : undefined;
  if (!isObject(entry)) throw invalid(file, `no ${what} named ${JSON.stringify(name)}`);
  return entry;
}

function invalid(file: string, why: string): CniError {
  return new CniError(specCodes.invalidNetworkConfig, `kubeconfig ${file}: ${why}`);
}

/** A value given inline (`*-data`, base64) or as a file (relative to the kubeconfig's folder). */
function readMaterial(section: Json, key: string, file: string): string | undefined {
  const data = section[`${key}-data`];
  if (typeof data === 'string') return Buffer.from(data, 'base64').toString('utf8');
  const path = section[key];
  if (typeof path !== 'string') return undefined;
  try {
    return readFileSync(resolve(dirname(file), path), 'utf8');
  } catch (error) {
    throw new CniError(specCodes.ioFailure, `kubeconfig ${file}: cannot read ${key} ${path}`, (error as Error).message);
  }
}

export function readKubeconfig(file: string): ApiCredentials {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CniError(specCodes.ioFailure, `cannot read kubeconfig ${file}`, (error as Error).message);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    throw invalid(file, 'is not JSON (pillion-cni reads the JSON kubeconfig that pillion-cni-install writes)');
  }
  if (!isObject(config)) throw invalid(file, 'is not a JSON object');
  const context = named(config.contexts, config['current-context'], 'context', file).context;
  if (!isObject(context)) throw invalid(file, 'the current context has no "context"');
  const cluster = named(config.clusters, context.cluster, 'cluster', file).cluster;
  const user = named(config.users, context.user, 'user', file).user;
  if (!isObject(cluster) || typeof cluster.server !== 'string') throw invalid(file, 'the cluster has no "server"');
  if (!isObject(user)) throw invalid(file, 'the user has no "user"');
  if (cluster['insecure-skip-tls-verify'] === true) throw invalid(file, 'insecure-skip-tls-verify is refused: the API server must be verified');
  let server: URL;
  try {
    server = new URL(cluster.server);
  } catch {
    throw invalid(file, `server ${JSON.stringify(cluster.server)} is not a URL`);
  }
  if (server.protocol !== 'https:') throw invalid(file, `server ${cluster.server} is not https`);
  const tokenFile = typeof user.tokenFile === 'string' ? user.tokenFile : undefined;
  const token = typeof user.token === 'string' ? user.token : tokenFile === undefined ? undefined : readMaterial({ tokenFile }, 'tokenFile', file)?.trim();
  const cert = readMaterial(user, 'client-certificate', file);
  const key = readMaterial(user, 'client-key', file);
  if (token === undefined && (cert === undefined || key === undefined)) throw invalid(file, 'the user has neither a token nor a client certificate and key');
  return { server, ca: readMaterial(cluster, 'certificate-authority', file), token, cert, key };
}
