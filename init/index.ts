// The pillion-init library, free of CLI concerns: its one public entry. The injector (which
// validates capture annotations with these parsers and writes the init container's flags from
// this flag table) and the CNI plugin (cni/) import init only through this file.
export { parseCaptureConfig, captureFlags, envNameFor, type CaptureConfig } from './config.js';
export { planCaptureRules } from './plan/planner.js';
export { renderRestore, renderDryRun, renderRuleArgs, desiredTables } from './plan/render.js';
export type { CapturePlan, FamilyPlan, PlannedRule, PlannedChain, TablePlan } from './plan/types.js';
export { chains, isPillionChain } from './plan/chains.js';
export { inboundSourceAddresses } from './contract.js';
export { applyCapture, type ApplyOptions, type ApplyResult, type Logger } from './apply/apply.js';
export { inspectCapture, type Inspection, type FamilyInspection } from './apply/inspect.js';
export { cleanupCapture } from './apply/cleanup.js';
export { buildConvergeTransaction } from './state/converge.js';
export { parseIptablesSave } from './state/iptables-save.js';
export { decideBackend, resolveBackend, toolName, type Backend } from './backend/detect.js';
export { simulatePacket, type Packet } from './explain/simulate.js';
export { verifyCapture } from './verify/verify.js';
export { capturedPort, ordinaryId } from './verify/probe-plan.js';
export type { Executor, CommandResult } from './exec/executor.js';
export { SpawnExecutor, programOnPath, runProcess, runProcessSync, timedOutExitCode } from './exec/spawn-executor.js';
export { exitWhenWritten, FdWriter } from './cli/write-fd.js';
export { UsageError, RuntimeError, HalfAppliedError } from './errors.js';
export {
  ValueError, parsePort, parsePortList, parsePortSelection, normalisePortRanges, formatPortRange,
  parseCidr, parseCidrList, parseCidrSelection, formatCidr, parseInterfaceList, parseBoolean, ipFamilyOf,
} from './values.js';
export type { IpFamily, PortRange, PortSelection, Cidr, CidrSelection } from './values.js';
