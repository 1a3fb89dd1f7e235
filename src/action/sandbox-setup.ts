// The Action's sandbox. GitHub-hosted Ubuntu runners (24.04 and later) restrict unprivileged user
// namespaces through AppArmor (kernel.apparmor_restrict_unprivileged_userns=1), so bubblewrap
// cannot build its sandbox there as the `runner` user. The job has password-less sudo and the
// machine is thrown away after it, so the Action lifts that restriction for the job (and installs
// bubblewrap if the image lacks it). Self-hosted runners are the operator's: nothing is changed
// there, and an unavailable sandbox refuses repository code with the reason and the fix.
import { readFileSync } from 'node:fs';
import { runProcess } from '../workspace/command.ts';
import { detectSandbox, type Sandbox, type SandboxUnavailable } from '../workspace/sandbox.ts';

/** Runs Foreman's own set-up command; rejects with its output when it fails. */
export type Exec = (program: string, args: string[]) => Promise<unknown>;

const runIn = (env: NodeJS.ProcessEnv): Exec => async (program, args) => {
  const run = await runProcess([program, ...args], { cwd: process.cwd(), env, timeoutMs: 300_000 });
  if (run.exitCode !== 0) throw new Error(`${program} ${run.timedOut ? 'timed out' : `exited ${run.exitCode ?? run.signal}`}: ${run.output.trim() || 'no output'}`);
};

const APPARMOR_USERNS = '/proc/sys/kernel/apparmor_restrict_unprivileged_userns';

export interface ActionSandbox {
  sandbox: Sandbox | SandboxUnavailable;
  /** What was done to make it work, for the log. */
  notes: string[];
}

export async function actionSandbox(env: NodeJS.ProcessEnv, hide: string[], exec: Exec = runIn(env)): Promise<ActionSandbox> {
  const options = { ...(env.FOREMAN_BWRAP ? { bwrap: env.FOREMAN_BWRAP } : {}), hide };
  const first = detectSandbox(options);
  if (first.kind === 'bwrap' || env.RUNNER_ENVIRONMENT !== 'github-hosted' || process.platform !== 'linux') return { sandbox: first, notes: [] };
  const notes: string[] = [];
  const attempt = async (what: string, program: string, args: string[]): Promise<void> => {
    try {
      await exec(program, args);
      notes.push(what);
    } catch (error) {
      notes.push(`${what} failed: ${(error as Error).message.split('\n')[0]}`);
    }
  };
  if (/not installed/.test(first.reason)) {
    await attempt('installed bubblewrap (sudo apt-get install bubblewrap)', 'sudo', ['sh', '-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap']);
  }
  if (readOrNull(APPARMOR_USERNS) === '1') {
    await attempt("allowed user namespaces for this job's runner (sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)", 'sudo', ['sysctl', '-w', 'kernel.apparmor_restrict_unprivileged_userns=0']);
  }
  return { sandbox: detectSandbox({ ...options, recheck: true }), notes };
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}
