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
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { GateStep } from '../../contracts/ports.ts';
import { runProcess } from '../command.ts';
import { git } from '../git.ts';
import { isDirectory, isFile, parseJson, readText } from './files.ts';

/** One install per key at a time in this process; other gates with the key wait for it. */
const installs = new Map<string, Promise<void>>();

/** Where the shared installs live. */
export const sharedDepsDir = (home: string): string => join(resolve(home), 'deps');

/** What the setup step needs of the gate: Foreman's data dir and the environment steps run with. */
export interface SetupContext {
  home: string;
  env: NodeJS.ProcessEnv;
}

/**
 * The setup step: `install` runs the command in `dir`; an install another change with the same
 * dependencies made is linked instead, and a fresh one is published for the changes after it.
 * `shared.linked` tells the gate to remove the link once it is done.
 */
export async function setupStep(dir: string, command: string, argv: string[], context: SetupContext, shared: { linked: boolean }, signal: AbortSignal | undefined, install: () => Promise<GateStep>): Promise<GateStep> {
  const started = performance.now();
  const modules = join(dir, 'node_modules');
  // Never let an install run through a link to the shared directory: npm ci empties the
  // node_modules it finds, and that would be every other change's.
  await unlinkShared(dir, context.home);
  const sharing = await sharingKey(dir, command, argv, context.env);
  if (typeof sharing !== 'string') {
    const step = await install();
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

  const installing = (async (): Promise<GateStep> => {
    const step = await install();
    if (step.exitCode !== 0) return step;
    const note = await publish(dir, target).catch((error: Error) => `not shared with other changes: ${error.message}`);
    if (note === null) shared.linked = true;
    return { ...step, durationMs: Math.round(performance.now() - started), output: `${step.output}[${note ?? `node_modules moved to ${target} and linked here, so later changes with the same dependencies reuse it`}]\n` };
  })();
  installs.set(target, installing.then(() => undefined, () => undefined));
  try {
    return await installing;
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

export async function unlinkShared(dir: string, home: string): Promise<void> {
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
