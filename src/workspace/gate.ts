// The gate by job, in gate/: plan (which commands), slots (how many at once), shared
// dependencies (one install per lockfile) and run. This file is the gate's one entry for the layers above.
export { createGateRunner, DEFAULT_GATE_STEP_TIMEOUT_MS, type GateRunner, type GateRunnerOptions } from './gate/run.ts';
export { GateConfigError, planGate, type GatePlan } from './gate/plan.ts';
export { sharedDepsDir } from './gate/shared-dependencies.ts';
export { GateSlots, processGateSlots } from './gate/slots.ts';
