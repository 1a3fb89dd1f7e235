// Gate setup per change: N changes of one commit, each in its own worktree, each installing the
// same dozen npm dependencies. Naive: `git worktree add` + `npm ci` per change. Foreman: `git
// worktree add` + the gate runner, whose setup shares one install across changes with the same
// lockfile. Both run the project's real test (which imports every dependency) so the verdicts
// can be compared. Uses the npm registry and the user's default npm cache (~/.npm): a warm-up
// install fills the cache first, so neither side pays for downloads and the naive figure is the
// best case a CI cache would give.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRepo, tempDir } from '../test/support/repo.ts';
import { cleanEnvironment, runProcess } from '../src/workspace/command.ts';
import { createGateRunner, planGate } from '../src/workspace/gate.ts';

export const CHANGES = 8;
/** The change whose edit breaks the code: both sides must fail it, and only it. */
const BROKEN = 3;

const DEPENDENCIES = ['lodash', 'chalk', 'commander', 'zod', 'yaml', 'semver', 'debug', 'uuid', 'dayjs', 'ms', 'picocolors', 'minimist'];

const SOURCE = `import _ from 'lodash';
import chalk from 'chalk';
import { Command } from 'commander';
import { z } from 'zod';
import YAML from 'yaml';
import semver from 'semver';
import debug from 'debug';
import { v4, validate } from 'uuid';
import dayjs from 'dayjs';
import ms from 'ms';
import pc from 'picocolors';
import minimist from 'minimist';

export function summary(argv) {
  const program = new Command().option('--name <name>').parse(argv, { from: 'user' });
  const args = minimist(argv);
  return {
    chunks: _.chunk([1, 2, 3, 4], 2).length,
    name: z.string().parse(program.opts().name),
    config: YAML.parse('retries: 3').retries,
    newer: semver.gt('1.2.0', '1.1.0'),
    log: typeof debug('bench'),
    id: validate(v4()),
    year: dayjs('2024-05-06').year(),
    timeout: ms('2h'),
    colour: pc.red('x').includes('x') && chalk.blue('y').includes('y'),
    flag: args.name,
  };
}
`;

const TEST = `import test from 'node:test';
import assert from 'node:assert/strict';
import { summary } from '../src/index.mjs';

test('every dependency works', () => {
  assert.deepEqual(summary(['--name', 'bench']), {
    chunks: 2, name: 'bench', config: 3, newer: true, log: 'function', id: true, year: 2024, timeout: 7200000, colour: true, flag: 'bench',
  });
});
`;

export interface GateSetupRow {
  change: number;
  naiveWorktreeMs: number;
  naiveSetupMs: number;
  naivePassed: boolean;
  foremanWorktreeMs: number;
  foremanSetupMs: number;
  reused: boolean;
  foremanPassed: boolean;
}

export interface GateSetupFigures {
  rows: GateSetupRow[];
  packages: number;
  naiveSetupMs: number;
  foremanSetupMs: number;
  /** Total naive setup time over total Foreman setup time, the first (real) install included. */
  ratio: number;
  /** A reused setup against a fresh npm ci (medians): what every change after the first saves. */
  steadyRatio: number;
  sameVerdicts: boolean;
  worktreesLeft: number;
}

const env = cleanEnvironment(process.env);

function npm(cwd: string, args: string[]): void {
  execFileSync('npm', [...args, '--no-audit', '--no-fund'], { cwd, stdio: 'ignore', env });
}

async function timed<T>(work: () => Promise<T> | T): Promise<[T, number]> {
  const started = performance.now();
  const value = await work();
  return [value, Math.round(performance.now() - started)];
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Each change's edit: a note, or (change BROKEN) a bug the test catches. */
function applyChange(dir: string, change: number): void {
  if (change === BROKEN) {
    const file = join(dir, 'src', 'index.mjs');
    writeFileSync(file, readFileSync(file, 'utf8').replace("ms('2h')", "ms('2m')"));
  } else {
    writeFileSync(join(dir, `NOTES-${change}.md`), `change ${change}\n`);
  }
}

export async function gateSetup(): Promise<GateSetupFigures> {
  const repo = makeRepo({
    'package.json': JSON.stringify({ name: 'gate-bench', version: '1.0.0', private: true, type: 'module', scripts: { test: 'node --test' } }, null, 2) + '\n',
    '.gitignore': 'node_modules\n',
    'src/index.mjs': SOURCE,
    'test/index.test.mjs': TEST,
  });
  const scratch = tempDir('foreman-bench-gate-');
  const home = join(scratch, 'home');
  const worktrees: string[] = [];
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo, encoding: 'utf8' });
  try {
    // A real lockfile from the registry, committed like a project's own.
    npm(repo, ['install', '--package-lock-only', '--save', ...DEPENDENCIES]);
    git('add', '-A');
    git('-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', 'commit', '-q', '-m', 'dependencies');
    const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    const packages = Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/')).length;
    // Warm the default cache so that neither side below downloads anything.
    const warm = join(scratch, 'warm');
    git('worktree', 'add', '--detach', '--quiet', warm, 'HEAD');
    worktrees.push(warm);
    npm(warm, ['ci']);

    const rows: GateSetupRow[] = [];
    for (let change = 1; change <= CHANGES; change++) {
      const dir = join(scratch, 'naive', `c${change}`);
      const [, worktreeMs] = await timed(() => git('worktree', 'add', '--detach', '--quiet', dir, 'HEAD'));
      worktrees.push(dir);
      applyChange(dir, change);
      const setup = await runProcess(['npm', 'ci', '--no-audit', '--no-fund'], { cwd: dir, env, timeoutMs: 600_000 });
      if (setup.exitCode !== 0) throw new Error(`npm ci failed in ${dir}: ${setup.output}`);
      const verdict = await runProcess(['npm', 'test'], { cwd: dir, env, timeoutMs: 600_000 });
      rows.push({ change, naiveWorktreeMs: worktreeMs, naiveSetupMs: setup.durationMs, naivePassed: verdict.exitCode === 0, foremanWorktreeMs: 0, foremanSetupMs: 0, reused: false, foremanPassed: false });
    }

    // One change at a time, like the naive side: the saving shown is reuse alone, not parallelism.
    const runner = createGateRunner({ home, env: process.env, concurrency: 1 });
    for (const row of rows) {
      const dir = join(home, 'worktrees', 'bench', `c${row.change}`);
      const [, worktreeMs] = await timed(() => git('worktree', 'add', '--detach', '--quiet', dir, 'HEAD'));
      worktrees.push(dir);
      applyChange(dir, row.change);
      const plan = await planGate(dir, undefined);
      const result = await runner.run(dir, { ...plan, setup: 'npm ci --no-audit --no-fund' });
      const setup = result.steps.find((s) => s.name === 'setup');
      if (!setup || setup.exitCode !== 0) throw new Error(`the gate's setup failed in ${dir}: ${setup?.output}`);
      row.foremanWorktreeMs = worktreeMs;
      row.foremanSetupMs = setup.durationMs;
      row.reused = setup.reused === true;
      row.foremanPassed = result.passed;
    }

    const naiveSetupMs = rows.reduce((sum, r) => sum + r.naiveSetupMs, 0);
    const foremanSetupMs = rows.reduce((sum, r) => sum + r.foremanSetupMs, 0);
    const reusedMs = rows.filter((r) => r.reused).map((r) => r.foremanSetupMs);
    return {
      rows,
      packages,
      naiveSetupMs,
      foremanSetupMs,
      ratio: naiveSetupMs / foremanSetupMs,
      steadyRatio: reusedMs.length ? median(rows.map((r) => r.naiveSetupMs)) / Math.max(1, median(reusedMs)) : 0,
      sameVerdicts: rows.every((r) => r.naivePassed === r.foremanPassed),
      worktreesLeft: await removeWorktrees(repo, worktrees),
    };
  } finally {
    await removeWorktrees(repo, worktrees);
    rmSync(scratch, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  }
}

/** Removes the bench's worktrees; returns how many `git worktree list` still shows. */
async function removeWorktrees(repo: string, worktrees: string[]): Promise<number> {
  for (const dir of worktrees.splice(0)) {
    try {
      execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: repo, stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  execFileSync('git', ['worktree', 'prune'], { cwd: repo });
  return execFileSync('git', ['worktree', 'list', '--porcelain'], { cwd: repo, encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('worktree ')).length - 1;
}
