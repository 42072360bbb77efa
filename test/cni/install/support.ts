// Temporary host directories for the installer tests: a host root with the net and bin dirs,
// a service-account volume, and a stand-in plugin whose VERSION works (or fails).
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type AgentOptions } from '../../../cni/install/agent.js';
import { presets } from '../../../cni/install/presets.js';
import { supportedVersions } from '../../../cni/protocol/versions.js';

export const paths = presets.default!;

export interface TestHost {
  readonly root: string;
  readonly netDir: string;
  readonly binDir: string;
  readonly saDir: string;
  readonly source: string;
  readonly logs: string[];
  agent(overrides?: Partial<AgentOptions>): Agent;
  cleanup(): void;
}

/** A stand-in plugin whose VERSION names `versions` (default: what pillion-cni speaks). */
export function versionScriptFor(versions: readonly string[]): string {
  return `#!/bin/sh
[ "$CNI_COMMAND" = VERSION ] || exit 1
echo '${JSON.stringify({ cniVersion: versions.at(-1), supportedVersions: versions })}'
`;
}

export const versionScript = versionScriptFor(supportedVersions);

export function makeHost(source = versionScript): TestHost {
  const root = mkdtempSync(join(tmpdir(), 'pillion-install-'));
  const netDir = join(root, paths.netDir);
  const binDir = join(root, paths.binDir);
  const saDir = join(root, 'sa');
  for (const dir of [netDir, binDir, saDir]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(saDir, 'token'), 'token-1\n');
  writeFileSync(join(saDir, 'ca.crt'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const sourcePath = join(root, 'pillion-cni-source');
  writeFileSync(sourcePath, source);
  chmodSync(sourcePath, 0o755);
  const logs: string[] = [];
  const agents: Agent[] = [];
  return {
    root,
    netDir,
    binDir,
    saDir,
    source: sourcePath,
    logs,
    agent(overrides = {}) {
      const agent = new Agent({
        hostRoot: root,
        paths,
        sourceBinary: sourcePath,
        execMode: 'direct',
        serviceAccountDir: saDir,
        apiServer: 'https://10.96.0.1:443',
        log: (line) => logs.push(line),
        ...overrides,
      });
      agents.push(agent);
      return agent;
    },
    cleanup() {
      for (const agent of agents) void agent.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface FileSnapshot {
  readonly bytes: string;
  readonly mode: number;
}

/** Every file and directory under `dir`: bytes (base64) and mode. */
export function snapshot(dir: string): Map<string, FileSnapshot> {
  const out = new Map<string, FileSnapshot>();
  const walk = (at: string, rel: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      const key = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const mode = statSync(path).mode & 0o7777;
      if (entry.isDirectory()) {
        out.set(`${key}/`, { bytes: '', mode });
        walk(path, key);
      } else out.set(key, { bytes: readFileSync(path).toString('base64'), mode });
    }
  };
  walk(dir, '');
  return out;
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<number> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - start;
}

export function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

export function pluginTypes(path: string): string[] {
  const doc = readJson(path) as { plugins?: { type: string }[] };
  return (doc.plugins ?? []).map((p) => p.type);
}

// The shapes the primaries write (public install docs and manifests).
export const calicoConflist = `{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "calico",
      "log_level": "info",
      "log_file_path": "/var/log/calico/cni/cni.log",
      "datastore_type": "kubernetes",
      "nodename": "node-1",
      "mtu": 0,
      "ipam": {
          "type": "calico-ipam"
      },
      "policy": {
          "type": "k8s"
      },
      "kubernetes": {
          "kubeconfig": "/etc/cni/net.d/calico-kubeconfig"
      }
    },
    {
      "type": "portmap",
      "snat": true,
      "capabilities": {"portMappings": true}
    },
    {
      "type": "bandwidth",
      "capabilities": {"bandwidth": true}
    }
  ]
}`;

export const flannelConflist = `{
  "name": "cbr0",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "flannel",
      "delegate": {
        "hairpinMode": true,
        "isDefaultGateway": true
      }
    },
    {
      "type": "portmap",
      "capabilities": {
        "portMappings": true
      }
    }
  ]
}
`;

export const ciliumConflist = `{
  "cniVersion": "0.3.1",
  "name": "cilium",
  "plugins": [
    {
       "type": "cilium-cni",
       "enable-debug": false,
       "log-file": "/var/run/cilium/cilium-cni.log"
    }
  ]
}
`;

export const bridgeConf = `{
\t"cniVersion": "0.4.0",
\t"name": "mynet",
\t"type": "bridge",
\t"bridge": "cni0",
\t"isGateway": true,
\t"ipMasq": true,
\t"ipam": {
\t\t"type": "host-local",
\t\t"subnet": "10.22.0.0/16",
\t\t"routes": [ { "dst": "0.0.0.0/0" } ]
\t}
}
`;
