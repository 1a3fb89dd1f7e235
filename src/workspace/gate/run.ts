// The gate a change must pass before it is proposed: setup → build → test in the change's own
// worktree, without a shell, secrets removed. The commands come from `gate` in
// .github/foreman.yml, or are detected from the project's files.
import { resolve } from 'node:path';
import { CONFIG_DEFAULTS } from '../../config/schema.ts';
import type { GateResult, GateStep, GateStepName } from '../../contracts/ports.ts';
import { cleanEnvironment, runProcess } from '../command.ts';
import { CommandSyntaxError, parseCommandLine } from '../../config/command-line.ts';
import { ProcessLedger, processLedgerDir } from '../process-ledger.ts';
import { detectSandbox, type SandboxChoice } from '../sandbox.ts';
import { DEFAULT_ALLOWED_HOSTS } from '../sandbox-network.ts';
import type { GatePlan } from './plan.ts';
import { setupStep, unlinkShared } from './shared-dependencies.ts';
import { GateSlots, processGateSlots } from './slots.ts';

export interface GateRunnerOptions {
  /** Foreman's data dir; shared dependency installs live in $home/deps. */
  home: string;
  /**
   * Gates at once from this runner (one runner per run): a cap within `slots`, which it cannot
   * raise. Default: no cap of its own. Gates are CPU-bound, agents are not.
   */
  concurrency?: number;
  /** The slots shared with other runners (default: processGateSlots(), one per CPU core). */
  slots?: GateSlots;
  /** Timeout of each step (default 600000). */
  timeoutMs?: number;
  /** The environment the commands start from; secrets are removed before they run. */
  env: NodeJS.ProcessEnv;
  /** Secrets Foreman holds (tokens): a variable whose value contains one is removed before a command runs. */
  secrets?: Iterable<string>;
  maxOutputChars?: number;
  /**
   * The sandbox the steps run in (default: detectSandbox(); when it is unavailable, every step is
   * refused with the reason and the fix rather than run bare).
   */
  sandbox?: SandboxChoice;
  /** Hosts the setup step may reach (sandbox.network); default DEFAULT_ALLOWED_HOSTS. */
  network?: readonly string[];
}

export interface GateRunner {
  run(dir: string, plan: GatePlan, signal?: AbortSignal): Promise<GateResult>;
}

export const DEFAULT_GATE_STEP_TIMEOUT_MS = CONFIG_DEFAULTS.gate.timeoutMs;

const STEPS: GateStepName[] = ['setup', 'build', 'test'];

export function createGateRunner(options: GateRunnerOptions): GateRunner {
  const shared = options.slots ?? processGateSlots();
  // The run's own cap is taken first, so that a gate waiting on it holds none of the shared slots.
  const own = options.concurrency !== undefined && options.concurrency < shared.size ? new GateSlots(options.concurrency) : null;
  const context: StepContext = {
    home: resolve(options.home),
    env: cleanEnvironment(options.env, options.secrets),
    timeoutMs: options.timeoutMs ?? DEFAULT_GATE_STEP_TIMEOUT_MS,
    ...(options.maxOutputChars ? { maxOutputChars: options.maxOutputChars } : {}),
    ledger: new ProcessLedger(processLedgerDir(options.home)),
    sandbox: options.sandbox ?? detectSandbox({ hide: [options.home] }),
    network: options.network ?? DEFAULT_ALLOWED_HOSTS,
  };
  return {
    async run(dir, plan, signal) {
      const releaseOwn = own ? await own.acquire(signal) : () => undefined;
      // Stopped while waiting: no step ran, and an aborted gate never passes.
      if (!releaseOwn) return { passed: false, steps: [] };
      try {
        const releaseShared = await shared.acquire(signal);
        if (!releaseShared) return { passed: false, steps: [] };
        try {
          return await runGate(resolve(dir), plan, context, signal);
        } finally {
          releaseShared();
        }
      } finally {
        releaseOwn();
      }
    },
  };
}

interface StepContext {
  home: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  maxOutputChars?: number;
  ledger: ProcessLedger;
  sandbox: SandboxChoice;
  network: readonly string[];
}

async function runGate(dir: string, plan: GatePlan, context: StepContext, signal: AbortSignal | undefined): Promise<GateResult> {
  const steps: GateStep[] = [];
  const shared = { linked: false };
  try {
    for (const name of STEPS) {
      const command = plan[name];
      if (command === undefined) continue;
      if (signal?.aborted) return { passed: false, steps };
      let argv: string[];
      try {
        argv = parseCommandLine(command);
      } catch (error) {
        if (!(error instanceof CommandSyntaxError)) throw error;
        const where = plan.source === 'config' ? `gate.${name} in .github/foreman.yml` : `the detected ${name} command`;
        steps.push({ name, command, exitCode: 2, durationMs: 0, output: `${where} cannot run: ${error.message}. Fix gate.${name} in .github/foreman.yml.\n` });
        return { passed: false, steps };
      }
      const step = name === 'setup' ? await setupStep(dir, command, argv, context, shared, signal, () => commandStep('setup', dir, command, argv, context, signal)) : await commandStep(name, dir, command, argv, context, signal);
      steps.push(step);
      if (step.exitCode !== 0) return { passed: false, steps };
    }
    return { passed: true, steps };
  } finally {
    // The link goes once the gate is done: a later `npm ci` in this worktree (an agent, a second
    // gate) would otherwise empty the shared directory through it, and `git add --all` of a
    // worktree whose .gitignore misses node_modules would commit it.
    if (shared.linked) await unlinkShared(dir, context.home);
  }
}

async function commandStep(name: GateStepName, dir: string, command: string, argv: string[], context: StepContext, signal: AbortSignal | undefined): Promise<GateStep> {
  const sandbox = { choice: context.sandbox, root: dir, network: name === 'setup' ? { allow: context.network } : ('none' as const), hide: [context.home] };
  const result = await runProcess(argv, { cwd: dir, env: context.env, timeoutMs: context.timeoutMs, ledger: context.ledger, sandbox, ...(context.maxOutputChars ? { maxOutputChars: context.maxOutputChars } : {}), ...(signal ? { signal } : {}) });
  const offline = name !== 'setup' && context.sandbox.kind === 'bwrap' && result.exitCode !== 0 && NETWORK_FAILURE.test(result.output);
  const output = offline ? `${result.output}[sandbox: the ${name} step has no network; only the setup step may reach the hosts in sandbox.network. Fetch what the ${name} needs in gate.setup.]\n` : result.output;
  return { name, command, exitCode: result.exitCode, durationMs: result.durationMs, output };
}

// What a program says when it finds no network: the sandbox's build and test steps have none.
const NETWORK_FAILURE = /ENETUNREACH|EAI_AGAIN|ENOTFOUND|ECONNREFUSED|Network is unreachable|Temporary failure in name resolution|Could not resolve host/;
