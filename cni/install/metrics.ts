// The node agent's Prometheus metrics, served on /metrics by the agent's HTTP server: one registry
// for the installer (agent.ts) and the repairer (repair.ts), kept by prom-client, as the webhook's
// are, rather than exposition text written by hand.
import { Counter, Gauge, Registry } from 'prom-client';

export interface AgentMetrics {
  readonly registry: Registry;
  readonly ready: Gauge;
  readonly primaryRewrites: Counter<'primary'>;
  readonly entryWrites: Counter;
  readonly kubeconfigWrites: Counter;
  readonly binaryWrites: Counter;
  readonly reconcileErrors: Counter;
  readonly podRepairs: Counter<'action'>;
  readonly podRepairErrors: Counter;
  readonly podWatchRestarts: Counter;
}

export function createAgentMetrics(): AgentMetrics {
  const registry = new Registry();
  const prefix = 'pillion_cni_install_';
  const counter = (name: string, help: string): Counter => new Counter({ name: prefix + name, help, registers: [registry] });
  const metrics: AgentMetrics = {
    registry,
    ready: new Gauge({ name: `${prefix}ready`, help: '1 while Pillion is last in the runtime\'s configuration and the plugin runs here.', registers: [registry] }),
    primaryRewrites: new Counter({
      name: `${prefix}primary_rewrites_total`, help: 'Times the primary CNI rewrote its configuration and dropped Pillion\'s entry.',
      labelNames: ['primary'], registers: [registry],
    }),
    entryWrites: counter('entry_writes_total', 'Times the agent wrote its entry into a configuration.'),
    kubeconfigWrites: counter('kubeconfig_writes_total', 'Times the plugin\'s kubeconfig was written (token rotation).'),
    binaryWrites: counter('binary_writes_total', 'Times the plugin executable was copied.'),
    reconcileErrors: counter('reconcile_errors_total', 'Passes that failed unexpectedly.'),
    podRepairs: new Counter({
      name: `${prefix}pod_repairs_total`, help: 'Pods whose capture was missing (the proxy\'s hold hook or pillion-validation said so), by what the agent did.',
      labelNames: ['action'], registers: [registry],
    }),
    podRepairErrors: counter('pod_repair_errors_total', 'Repair actions the API server refused or did not answer.'),
    podWatchRestarts: counter('pod_watch_restarts_total', 'Times the watch of this node\'s pods was restarted.'),
  };
  // Every action shows from the start, at 0, so a rate() over it needs no first occurrence.
  for (const action of ['deleted', 'labelled', 'reported']) metrics.podRepairs.inc({ action }, 0);
  return metrics;
}
