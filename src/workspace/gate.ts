// The gate a change must pass before it is proposed: setup → build → test in the change's own
// worktree, without a shell, secrets removed. The commands come from `gate` in
// .github/foreman.yml, or are detected from the project's files.
//
// Dependency installs dominate a gate's cost when a run makes many changes of one commit, and
// almost every change leaves the lockfile alone. So npm/pnpm/yarn installs are shared: the first
// worktree with a given dependency key installs for real, its node_modules moves to
// $home/deps/<key>/node_modules and a symlink takes its place; later worktrees with that key get
// only the symlink. This is sound because Node resolves a module through its realpath: a
// package inside the shared directory finds its own dependencies next to it (npm's and yarn's
// flat layout, pnpm's .pnpm store, all inside node_modules), exactly as it did before the move.
// Links that leave node_modules (workspaces, `file:` dependencies) would break when moved, so
// those installs are never shared. The caveat: tools that write into node_modules (.cache of
// babel, eslint, vite) now write into one directory every change with that key shares.
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, unlink } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { CONFIG_DEFAULTS, type ForemanConfig } from '../config/schema.ts';
import type { GateResult, GateStep, GateStepName } from '../runtime/types.ts';
import { cleanEnvironment, CommandSyntaxError, parseCommandLine, runProcess } from './command.ts';
import { git } from './git.ts';
import { ProcessLedger, processLedgerDir } from './process-ledger.ts';
import { detectSandbox, type SandboxChoice } from './sandbox.ts';
import { DEFAULT_ALLOWED_HOSTS } from './sandbox-network.ts';

export class GateConfigError extends Error {}

export interface GatePlan {
  setup?: string;
  build?: string;
  test: string;
  /** 'config' when .github/foreman.yml has a gate section (its setup may still be detected). */
  source: 'config' | 'detected';
  /** What the project looked like: npm, pnpm, yarn, make, cargo, go, python; null if unknown. */
  ecosystem: string | null;
}

export const DEFAULT_GATE_STEP_TIMEOUT_MS = CONFIG_DEFAULTS.gate.timeoutMs;

const CONFIG_EXAMPLE = `gate:
  setup: npm ci          # optional: installs dependencies
  build: npm run build   # optional
  test: npm test`;

// ---- planning ------------------------------------------------------------------------------

interface Detected {
  ecosystem: string | null;
  setup?: string;
  build?: string;
  test?: string;
}

/**
 * The commands to gate the change in `dir` with. The config wins; without one, they are detected
 * from the files in `dir` (the change's worktree, so a change that adds a test script is gated
 * with it). A configured gate without `setup` still gets the detected dependency install.
 */
export async function planGate(dir: string, config: ForemanConfig['gate']): Promise<GatePlan> {
  const detected = await detect(dir);
  if (config) {
    const setup = config.setup ?? detected.setup;
    return { ...(setup ? { setup } : {}), ...(config.build ? { build: config.build } : {}), test: config.test, source: 'config', ecosystem: detected.ecosystem };
  }
  if (!detected.test) {
    throw new GateConfigError(
      `no test command found to gate changes with in ${dir}: looked for a "test" script in package.json (npm's placeholder "no test specified" does not count), a "test:" target in a Makefile, Cargo.toml, go.mod, and pytest (pytest.ini or conftest.py, pytest mentioned in pyproject.toml, setup.cfg or tox.ini, or tests/test_*.py). ` +
        `Set gate.test (and, if needed, gate.setup and gate.build) in .github/foreman.yml, for example:\n\n${CONFIG_EXAMPLE}\n`,
    );
  }
  const { setup, build, test, ecosystem } = detected;
  return { ...(setup ? { setup } : {}), ...(build ? { build } : {}), test, source: 'detected', ecosystem };
}

type PackageManager = 'npm' | 'pnpm' | 'yarn';

interface PackageJson {
  scripts?: Record<string, unknown>;
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
  optionalDependencies?: Record<string, unknown>;
  peerDependencies?: Record<string, unknown>;
  packageManager?: unknown;
  workspaces?: unknown;
}

const LOCKFILES: Array<[file: string, pm: PackageManager]> = [
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
];

const FROZEN_INSTALL: Record<PackageManager, string> = {
  npm: 'npm ci',
  pnpm: 'pnpm install --frozen-lockfile',
  yarn: 'yarn install --frozen-lockfile',
};

async function detect(dir: string): Promise<Detected> {
  const node = await detectNode(dir);
  // A Node project without a test script may still be tested through make (or cargo, …); its
  // dependencies are installed all the same.
  const other = node?.test ? null : await detectOtherTest(dir);
  const setup = node?.setup;
  const build = node?.build ?? other?.build;
  const test = node?.test ?? other?.test;
  return { ecosystem: node?.ecosystem ?? other?.ecosystem ?? null, ...(setup ? { setup } : {}), ...(build ? { build } : {}), ...(test ? { test } : {}) };
}

async function detectNode(dir: string): Promise<{ ecosystem: PackageManager; setup?: string; build?: string; test?: string } | null> {
  const text = await readText(join(dir, 'package.json'));
  if (text === null) return null;
  // An unparseable package.json (the change may have broken it) still gets the Node commands,
  // so that the gate fails with the package manager's own error instead of planning nothing.
  const pkg = parseJson(text);
  const lockfiles = await presentLockfiles(dir);
  const declared = typeof pkg?.packageManager === 'string' ? /^(npm|pnpm|yarn)@/.exec(pkg.packageManager)?.[1] as PackageManager | undefined : undefined;
  const pm: PackageManager = declared ?? lockfiles[0]?.[1] ?? 'npm';
  const locked = lockfiles.some(([, lockPm]) => lockPm === pm);
  const setup = locked ? FROZEN_INSTALL[pm] : !pkg || hasDependencies(pkg) ? `${pm} install` : undefined;
  const scripts = pkg?.scripts ?? {};
  const build = typeof scripts.build === 'string' ? `${pm} run build` : undefined;
  const testScript = scripts.test;
  const test = !pkg || (typeof testScript === 'string' && !/no test specified/.test(testScript)) ? `${pm} test` : undefined;
  return { ecosystem: pm, ...(setup ? { setup } : {}), ...(build ? { build } : {}), ...(test ? { test } : {}) };
}

async function presentLockfiles(dir: string): Promise<Array<[string, PackageManager]>> {
  const present: Array<[string, PackageManager]> = [];
  for (const entry of LOCKFILES) if (await isFile(join(dir, entry[0]))) present.push(entry);
  return present;
}

function hasDependencies(pkg: PackageJson): boolean {
  return [pkg.dependencies, pkg.devDependencies, pkg.optionalDependencies, pkg.peerDependencies].some((deps) => deps && typeof deps === 'object' && Object.keys(deps).length > 0);
}

// `test:` alone or among other targets, as a rule (`:` or `::`), not a variable (`test := 1`).
const MAKE_TEST_TARGET = /^(?:[^\s:#=]+[ \t]+)*test(?:[ \t]+[^\s:#=]+)*[ \t]*::?(?!=)/m;

async function detectOtherTest(dir: string): Promise<{ ecosystem: string; build?: string; test: string } | null> {
  for (const name of ['GNUmakefile', 'makefile', 'Makefile']) {
    const text = await readText(join(dir, name));
    if (text !== null && MAKE_TEST_TARGET.test(text)) return { ecosystem: 'make', test: 'make test' };
  }
  if (await isFile(join(dir, 'Cargo.toml'))) return { ecosystem: 'cargo', build: 'cargo build', test: 'cargo test' };
  if (await isFile(join(dir, 'go.mod'))) return { ecosystem: 'go', build: 'go build ./...', test: 'go test ./...' };
  if (await usesPytest(dir)) return { ecosystem: 'python', test: 'python -m pytest' };
  return null;
}

async function usesPytest(dir: string): Promise<boolean> {
  if ((await isFile(join(dir, 'pytest.ini'))) || (await isFile(join(dir, 'conftest.py')))) return true;
  for (const name of ['pyproject.toml', 'setup.cfg', 'tox.ini']) {
    if ((await readText(join(dir, name)))?.includes('pytest')) return true;
  }
  const tests = await readdir(join(dir, 'tests'), { recursive: true }).catch(() => [] as string[]);
  return tests.some((path) => /^test_.*\.py$/.test(basename(path)));
}

// ---- how many gates at once ----------------------------------------------------------------

/**
 * Slots for gates: at most `size` hold one at a time, the rest wait in FIFO order. A wait ends
 * early when its signal aborts, so a stopped run never queues behind other runs' gates.
 */
export class GateSlots {
  readonly size: number;
  #active = 0;
  #waiting: Array<() => void> = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`gate slots: size must be a whole number of at least 1, got ${size}`);
    this.size = size;
  }

  /** Gates holding a slot now. */
  get active(): number {
    return this.#active;
  }

  /** Gates waiting for a slot now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Resolves to the slot's release function, or to null if `signal` aborted first. */
  acquire(signal?: AbortSignal): Promise<(() => void) | null> {
    if (signal?.aborted) return Promise.resolve(null);
    if (this.#active < this.size) {
      this.#active += 1;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((done) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#active += 1;
        done(this.#releaser());
      };
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(grant);
        if (at >= 0) this.#waiting.splice(at, 1);
        done(null);
      };
      this.#waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active -= 1;
      this.#waiting.shift()?.();
    };
  }
}

let processSlots: GateSlots | undefined;

/**
 * The gate slots every runner in this process shares unless given its own: one per CPU core.
 *
 * The rule: gates are CPU-bound, and the CPU belongs to the process (the host), not to a run. So
 * there is one pool per process, sized by the host, and a run's `gate.concurrency` only caps that
 * run's share of it: it can lower, never raise, the gates at once. The pool is not sized from a
 * run's config because that config comes from the repository being run: in a process that runs
 * several repositories' workflows (the GitHub App), one repository could then take every core.
 */
export function processGateSlots(): GateSlots {
  processSlots ??= new GateSlots(availableParallelism());
  return processSlots;
}

// ---- running -------------------------------------------------------------------------------

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
  secrets?: readonly string[];
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
      const step = name === 'setup' ? await setupStep(dir, command, argv, context, shared, signal) : await commandStep(name, dir, command, argv, context, signal);
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

// ---- shared dependency installs ------------------------------------------------------------

/** One install per key at a time in this process; other gates with the key wait for it. */
const installs = new Map<string, Promise<void>>();

/** Where the shared installs live. */
export const sharedDepsDir = (home: string): string => join(resolve(home), 'deps');

async function setupStep(dir: string, command: string, argv: string[], context: StepContext, shared: { linked: boolean }, signal: AbortSignal | undefined): Promise<GateStep> {
  const started = performance.now();
  const modules = join(dir, 'node_modules');
  // Never let an install run through a link to the shared directory: npm ci empties the
  // node_modules it finds, and that would be every other change's.
  await unlinkShared(dir, context.home);
  const sharing = await sharingKey(dir, command, argv, context.env);
  if (typeof sharing !== 'string') {
    const step = await commandStep('setup', dir, command, argv, context, signal);
    return sharing.note ? { ...step, output: `${step.output}[dependencies not shared with other changes: ${sharing.note}]\n` } : step;
  }
  const target = join(sharedDepsDir(context.home), sharing, 'node_modules');

  for (;;) {
    if (await isDirectory(target)) {
      await rm(modules, { recursive: true, force: true });
      await symlink(target, modules, 'dir');
      shared.linked = true;
      return {
        name: 'setup',
        command,
        exitCode: 0,
        durationMs: Math.round(performance.now() - started),
        output: `node_modules reused from ${target}: installed earlier by '${command}' for the same lockfile and package.json files (key ${sharing.slice(0, 12)}); nothing was installed. Delete ${sharedDepsDir(context.home)} to force fresh installs.\n`,
        reused: true,
      };
    }
    const pending = installs.get(target);
    if (!pending) break;
    if (!(await untilSettledOrAborted(pending, signal))) {
      return { name: 'setup', command, exitCode: null, durationMs: Math.round(performance.now() - started), output: `stopped while waiting for another change's '${command}' with the same dependencies\n` };
    }
    // Loop: the other install published the directory, or it failed and this gate installs itself.
  }

  const install = (async (): Promise<GateStep> => {
    const step = await commandStep('setup', dir, command, argv, context, signal);
    if (step.exitCode !== 0) return step;
    const note = await publish(dir, target).catch((error: Error) => `not shared with other changes: ${error.message}`);
    if (note === null) shared.linked = true;
    return { ...step, durationMs: Math.round(performance.now() - started), output: `${step.output}[${note ?? `node_modules moved to ${target} and linked here, so later changes with the same dependencies reuse it`}]\n` };
  })();
  installs.set(target, install.then(() => undefined, () => undefined));
  try {
    return await install;
  } finally {
    installs.delete(target);
  }
}

/** Moves a finished install into the shared directory and links it back; a note when it did not. */
async function publish(dir: string, target: string): Promise<string | null> {
  const modules = join(dir, 'node_modules');
  // Yarn Plug'n'Play installs into .pnp.cjs and .yarn/, not node_modules: nothing to share.
  if ((await isFile(join(dir, '.pnp.cjs'))) || (await isFile(join(dir, '.pnp.js')))) return `not shared with other changes: Yarn Plug'n'Play keeps dependencies outside node_modules`;
  // An install with no dependencies leaves no node_modules; share that (empty) result too.
  await mkdir(modules, { recursive: true });
  const outside = await linkLeavingDir(modules);
  if (outside) return `not shared with other changes: node_modules/${outside} links outside node_modules (workspaces or file: dependencies), which would break once moved`;
  await mkdir(dirname(target), { recursive: true });
  try {
    // Atomic: other processes see either no shared directory or a complete one.
    await rename(modules, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return `kept in this worktree: another process shared the same dependencies first`;
    if (code === 'EXDEV') return `not shared with other changes: the worktree and ${dirname(target)} are on different file systems`;
    throw error;
  }
  await symlink(target, modules, 'dir');
  return null;
}

async function unlinkShared(dir: string, home: string): Promise<void> {
  const modules = join(dir, 'node_modules');
  const info = await lstat(modules).catch(() => null);
  if (!info?.isSymbolicLink()) return;
  const to = resolve(dir, await readlink(modules));
  if (to.startsWith(sharedDepsDir(home) + sep)) await unlink(modules);
}

/** The first top-level (or scoped) entry of node_modules that is a link to outside it. */
async function linkLeavingDir(modules: string): Promise<string | null> {
  const check = async (dir: string, prefix: string): Promise<string | null> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.isSymbolicLink()) {
        const to = resolve(dir, await readlink(join(dir, entry.name)));
        if (relative(modules, to).startsWith('..')) return prefix + entry.name;
      } else if (entry.isDirectory() && entry.name.startsWith('@') && !prefix) {
        const found = await check(join(dir, entry.name), `${entry.name}/`);
        if (found) return found;
      }
    }
    return null;
  };
  return check(modules, '');
}

const INSTALLERS: Record<string, string[]> = {
  npm: ['ci', 'clean-install', 'install', 'i', 'add'],
  pnpm: ['install', 'i'],
  yarn: ['install'],
};

// Files besides package.json that change what an install puts in node_modules. The Node version
// files matter because version managers' shims (nvm, volta, asdf) pick Node per directory.
const INSTALL_INPUTS = ['package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml', 'yarn.lock', '.npmrc', '.yarnrc', '.yarnrc.yml', '.pnpmfile.cjs', '.nvmrc', '.node-version', '.tool-versions'];

/**
 * The key of a shareable install (a hex digest), or why this setup is not shared. The key covers
 * the command, every input file of the install, and what the environment changes about it.
 */
async function sharingKey(dir: string, command: string, argv: string[], env: NodeJS.ProcessEnv): Promise<string | { note: string | null }> {
  const program = basename(argv[0]);
  const installer = INSTALLERS[program];
  if (!installer || !(argv.length === 1 ? program === 'yarn' : installer.includes(argv[1]))) return { note: null };
  const pkg = parseJson((await readText(join(dir, 'package.json'))) ?? '');
  if (pkg?.workspaces !== undefined || (await isFile(join(dir, 'pnpm-workspace.yaml')))) {
    return { note: 'the project uses workspaces, whose node_modules links back into the tree' };
  }
  const tracked = await trackedInstallInputs(dir);
  if (tracked.some((path) => path === 'node_modules' || path.startsWith('node_modules/'))) {
    return { note: 'node_modules is committed to the repository' };
  }
  const files = [...new Set([...INSTALL_INPUTS, 'package.json', ...tracked])].sort();
  const hash = createHash('sha256');
  const relevantEnv = Object.entries(env)
    .filter(([name]) => name === 'NODE_ENV' || /^(npm_config_|yarn_|pnpm_)/i.test(name))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  hash.update(JSON.stringify({ v: 1, command: argv, platform: process.platform, arch: process.arch, node: await nodeVersion(env), env: relevantEnv }));
  for (const file of files) {
    const content = await readFile(join(dir, file)).catch(() => null);
    if (content === null) continue;
    hash.update(`\0${file}\0${content.length}\0`);
    hash.update(content);
  }
  return hash.digest('hex');
}

/** package.json files anywhere in the tree, patches (patch-package) and node_modules, if tracked. */
async function trackedInstallInputs(dir: string): Promise<string[]> {
  try {
    const out = await git(dir, ['ls-files', '-z', '--', ':(glob)**/package.json', ':(glob)patches/**', ':(glob).yarn/patches/**', 'node_modules']);
    return out.split('\0').filter(Boolean);
  } catch {
    // Not a git checkout: the root files alone make the key.
    return [];
  }
}

/** Native addons are built for one Node ABI: installs by different Node versions are not shared. */
const nodeVersions = new Map<string, Promise<string>>();

function nodeVersion(env: NodeJS.ProcessEnv): Promise<string> {
  const path = env.PATH ?? '';
  let version = nodeVersions.get(path);
  if (!version) {
    version = runProcess(['node', '--version'], { cwd: tmpdir(), env, timeoutMs: 30_000 }).then((r) => (r.exitCode === 0 ? r.output.trim() : 'none'));
    nodeVersions.set(path, version);
  }
  return version;
}

// ---- small helpers -------------------------------------------------------------------------

function untilSettledOrAborted(promise: Promise<void>, signal: AbortSignal | undefined): Promise<boolean> {
  if (!signal) return promise.then(() => true);
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((done) => {
    const onAbort = (): void => done(false);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      done(true);
    });
  });
}

async function readText(path: string): Promise<string | null> {
  return readFile(path, 'utf8').catch(() => null);
}

function parseJson(text: string): PackageJson | null {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as PackageJson) : null;
  } catch {
    return null;
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}
