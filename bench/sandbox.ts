// Sandbox start-up per command: the same programs run through runProcess bare (no sandbox) and
// inside the sandbox (bubblewrap: namespaces, binds, the limits watchdog), one after another, so
// the difference is what the sandbox costs each gate step or run_command. The setup step also
// starts the egress proxy and the forwarder inside (socat, or Node where socat is missing); both
// are measured on their own.
import { makeRepo } from '../test/support/repo.ts';
import { cleanEnvironment, runProcess, type RunProcessOptions } from '../src/workspace/command.ts';
import { detectSandbox, sandboxMessage } from '../src/workspace/sandbox.ts';

export const RUNS = 40;

export interface SandboxRow {
  command: string;
  bareMedianMs: number;
  sandboxMedianMs: number;
  overheadMedianMs: number;
  bareP90Ms: number;
  sandboxP90Ms: number;
}

const median = (values: number[]): number => quantile(values, 0.5);

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function wall(argv: string[], opts: RunProcessOptions): Promise<number> {
  const started = performance.now();
  const result = await runProcess(argv, opts);
  if (result.exitCode !== 0) throw new Error(`${argv.join(' ')} failed: ${result.output}`);
  return performance.now() - started;
}

export async function sandboxBench(): Promise<SandboxRow[]> {
  const sandbox = detectSandbox();
  if (sandbox.kind !== 'bwrap') throw new Error(sandboxMessage(sandbox));
  const root = makeRepo({ 'README.md': 'bench\n' });
  const env = cleanEnvironment(process.env);
  const bare: RunProcessOptions = { cwd: root, env, timeoutMs: 60_000 };
  const boxed = (network: 'none' | { allow: string[] }, nodeForwarder: boolean): RunProcessOptions => ({ ...bare, sandbox: { choice: nodeForwarder ? { ...sandbox, socat: null } : sandbox, root, network } });
  const setup = { allow: ['registry.npmjs.org'] };
  const cases: Array<{ command: string; argv: string[]; network: 'none' | { allow: string[] }; nodeForwarder?: boolean }> = [
    { command: 'true', argv: ['true'], network: 'none' },
    { command: 'node -e 0', argv: [process.execPath, '-e', '0'], network: 'none' },
    { command: 'git status', argv: ['git', 'status', '--short'], network: 'none' },
    { command: `true (setup: proxy + ${sandbox.socat ? 'socat' : 'Node'} forwarder)`, argv: ['true'], network: setup },
    // Where socat is missing, Node forwards: its start-up is most of the cost.
    ...(sandbox.socat ? [{ command: 'true (setup: proxy + Node forwarder)', argv: ['true'], network: setup, nodeForwarder: true }] : []),
  ];
  const rows: SandboxRow[] = [];
  for (const c of cases) {
    const bareMs: number[] = [];
    const sandboxMs: number[] = [];
    // Interleaved, so that machine load hits both sides alike; the first of each is a warm-up.
    for (let i = 0; i <= RUNS; i++) {
      const b = await wall(c.argv, bare);
      const s = await wall(c.argv, boxed(c.network, c.nodeForwarder ?? false));
      if (i === 0) continue;
      bareMs.push(b);
      sandboxMs.push(s);
    }
    rows.push({
      command: c.command,
      bareMedianMs: median(bareMs),
      sandboxMedianMs: median(sandboxMs),
      overheadMedianMs: median(sandboxMs.map((s, i) => s - bareMs[i])),
      bareP90Ms: quantile(bareMs, 0.9),
      sandboxP90Ms: quantile(sandboxMs, 0.9),
    });
  }
  return rows;
}
