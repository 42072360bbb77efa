// The pillion-init library, free of CLI concerns: for the CLI and the CNI plugin (cni/), which
// imports init only through this file.
export { parseCaptureConfig, captureFlags, envNameFor, type CaptureConfig } from './config.js';
export { planCaptureRules } from './plan/planner.js';
export { renderRestore, renderDryRun, renderRuleArgs, desiredTables } from './plan/render.js';
export type { CapturePlan, FamilyPlan, PlannedRule, PlannedChain, TablePlan } from './plan/types.js';
export { chains, isPillionChain } from './plan/chains.js';
export { applyCapture, type ApplyOptions, type ApplyResult, type Logger } from './apply/apply.js';
export { inspectCapture, type Inspection, type FamilyInspection } from './apply/inspect.js';
export { cleanupCapture } from './apply/cleanup.js';
export { buildConvergeTransaction } from './state/converge.js';
export { parseIptablesSave } from './state/iptables-save.js';
export { decideBackend, resolveBackend, toolName, type Backend } from './backend/detect.js';
export { simulatePacket, type Packet } from './explain/simulate.js';
export { verifyCapture } from './verify/verify.js';
export type { Executor, CommandResult } from './exec/executor.js';
export { ExecaExecutor } from './exec/execa-executor.js';
export { RecordingExecutor } from './exec/executor.js';
export { UsageError, RuntimeError } from './errors.js';
export type { IpFamily } from './values.js';
