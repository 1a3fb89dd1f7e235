// The one git runner: started through runProcess (command.ts), never through a shell, so refs and
// paths are never interpreted, and every call hardened (gitInvocation) against what the repository
// controls or what sandboxed code may have written into it: its config, hooks and .gitattributes
// name programs that would otherwise run as Foreman, with Foreman's environment.
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { holdsCredentialUrl, isSecretName, runProcess } from './command.ts';

export class GitError extends Error {
  readonly args: string[];
  readonly stderr: string;
  constructor(args: string[], stderr: string) {
    super(`git ${args.join(' ')} failed: ${stderr.trim() || 'no output'}`);
    this.args = args;
    this.stderr = stderr;
  }
}

export interface GitOptions {
  /** Laid over the environment: identities and dates. GIT_CONFIG_* here is ignored: use `config`. */
  env?: Record<string, string>;
  /**
   * Config for this call, after the hardening (a later value wins), passed through the
   * environment so that a value (a token's header) never shows in argv.
   */
  config?: ReadonlyArray<readonly [string, string]>;
  /** Sent on stdin; a commit message can be longer than one argument may be (128 KiB on Linux). */
  input?: string;
}

/**
 * Config that holds on every call, whatever the repository's config says (command-line config
 * wins over every file). Each names a program git would run, or a way to reach one.
 */
const FIXED_CONFIG: ReadonlyArray<readonly [string, string]> = [
  ['core.hooksPath', '/dev/null'],
  ['core.fsmonitor', 'false'],
  ['core.sshCommand', 'ssh'],
  ['core.askPass', ''],
  ['core.attributesFile', '/dev/null'],
  // The empty value clears every helper configured before it.
  ['credential.helper', ''],
  // Only transports that run no configured program: ext:: runs any command, git:// runs
  // core.gitProxy, ssh runs core.sshCommand. Foreman talks https to GitHub; tests use paths.
  ['protocol.allow', 'never'],
  ['protocol.https.allow', 'always'],
  ['protocol.http.allow', 'always'],
  ['protocol.file.allow', 'always'],
  ['http.sslVerify', 'true'],
  ['commit.gpgSign', 'false'],
  ['tag.gpgSign', 'false'],
  ['push.gpgSign', 'false'],
  ['log.showSignature', 'false'],
  // A submodule's own config would apply inside it.
  ['submodule.recurse', 'false'],
  ['fetch.recurseSubmodules', 'false'],
  ['push.recurseSubmodules', 'no'],
  ['gc.auto', '0'],
  ['maintenance.auto', 'false'],
];

/**
 * Environment that decides which repository, config or program git uses is dropped; the
 * diagnostics (GIT_TRACE*, GIT_CURL_VERBOSE) and TLS trust settings the operator sets are kept.
 */
const KEPT_GIT_VARIABLES = /^GIT_(TRACE.*|CURL_VERBOSE|SSL_CAINFO|SSL_CAPATH|HTTP_USER_AGENT)$/;

/**
 * Options added right after the subcommand, for programs whose config cannot be overridden
 * with `-c`: `diff.external`, `diff.<driver>.command` and textconv have no "off" value, and git
 * keeps the first `remote.<name>.uploadpack`/`receivepack` it reads, the repository's.
 */
const SUBCOMMAND_OPTIONS: Record<string, readonly string[]> = {
  diff: ['--no-ext-diff', '--no-textconv'],
  log: ['--no-ext-diff', '--no-textconv'],
  show: ['--no-ext-diff', '--no-textconv'],
  fetch: ['--upload-pack=git-upload-pack'],
  clone: ['--upload-pack=git-upload-pack'],
  'ls-remote': ['--upload-pack=git-upload-pack'],
  push: ['--receive-pack=git-receive-pack'],
};

/**
 * The argv and environment Foreman runs `git args` with in `cwd`:
 * - no system or global config (Foreman sets the identity of every commit it makes itself);
 * - FIXED_CONFIG over the repository's own config;
 * - every filter driver the effective config defines turned off, so a `.gitattributes` entry
 *   (in the tree, in $GIT_DIR/info) runs nothing on checkout, add or diff;
 * - SUBCOMMAND_OPTIONS for what config cannot turn off.
 */
export async function gitInvocation(cwd: string, args: readonly string[], options: Pick<GitOptions, 'env' | 'config'> = {}): Promise<{ args: string[]; env: NodeJS.ProcessEnv }> {
  const base = baseEnvironment(options.env);
  const names = await configuredNames(cwd, withConfig(base, FIXED_CONFIG));
  const config = [...FIXED_CONFIG, ...filterOverrides(names), ...(options.config ?? [])];
  return { args: withSubcommandOptions(args), env: withConfig(base, config) };
}

export async function git(cwd: string, args: string[], options: GitOptions = {}): Promise<string> {
  const run = await runGit(cwd, args, options);
  if (run.exitCode === 0 && !run.overflowed) return run.stdout;
  throw new GitError(args, run.failure);
}

export interface GitRun {
  stdout: string;
  stderr: string;
  /** null when git did not exit by itself (killed, or never started). */
  exitCode: number | null;
  /** Output exceeded the buffer; stdout holds what was read. */
  overflowed: boolean;
  timedOut: boolean;
  /** What went wrong, for a message: git's stderr, or why it did not run. */
  failure: string;
}

export interface GitRunOptions extends GitOptions {
  /** Killed after this long (default: no limit). */
  timeoutMs?: number;
  /** Largest output kept, in bytes (default 64 MiB). */
  maxBuffer?: number;
}

/**
 * The one place git is started: hardened (gitInvocation), never through a shell, and it never
 * rejects for what git did: the exit code, an overflow or a timeout is in the answer.
 */
export async function runGit(cwd: string, args: readonly string[], options: GitRunOptions = {}): Promise<GitRun> {
  const invocation = await gitInvocation(cwd, args, options);
  return execGit(cwd, invocation.args, invocation.env, options);
}

async function execGit(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv, options: Pick<GitRunOptions, 'timeoutMs' | 'maxBuffer' | 'input'>): Promise<GitRun> {
  const run = await runProcess(['git', ...args], {
    cwd,
    env,
    capture: { maxBytes: options.maxBuffer ?? 64 * 1024 * 1024 },
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  if (run.notStarted === 'ENOENT') return { stdout: '', stderr: 'git is not installed', exitCode: null, overflowed: false, timedOut: false, failure: run.output.trim() };
  const { stdout, stderr, overflowed } = run.captured ?? { stdout: '', stderr: run.output, overflowed: false };
  const failure = run.notStarted ? run.output.trim() : stderr;
  return { stdout, stderr, exitCode: run.exitCode, overflowed, timedOut: run.timedOut, failure: run.exitCode === 0 && !overflowed ? '' : failure };
}

/**
 * The host environment git starts from, handed down once by each door at start
 * (useHostEnvironment): nothing below the doors reads the environment itself. A setter rather than
 * a parameter: git runs from some fifty call sites behind ports (ChangeWorkspace, Proposer, the
 * clone, the tools) whose callers know nothing of the environment, and the value is fixed for the
 * life of the process; threading it through each would widen every port for no caller's choice.
 * Until a door sets it (in-process tests, library use) git starts from its fixed variables alone.
 */
let hostEnvironment: NodeJS.ProcessEnv = {};

// Proxy settings may carry the proxy's own credentials (http://user:pass@proxy), and git needs them.
const PROXY_VARIABLE = /^(https?|all|no)_proxy$/i;

/**
 * Sets the environment every later git call starts from, filtered once here. Left out are:
 * - GIT_* that decides which repository, config or program git uses (see KEPT_GIT_VARIABLES);
 * - Foreman's secrets (isSecretName: ANTHROPIC_API_KEY, PRIVATE_KEY, GITHUB_TOKEN...), and values
 *   holding a URL with credentials other than a proxy's: git needs none of them, since a push's
 *   token reaches git through `config` (an extraheader), never the environment.
 * PATH, HOME, LANG, proxies and CA settings (SSL_CERT_FILE, GIT_SSL_CAINFO) are kept.
 */
export function useHostEnvironment(env: NodeJS.ProcessEnv): void {
  hostEnvironment = gitHostEnvironment(env);
}

function gitHostEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || isSecretName(name)) continue;
    if (name.startsWith('GIT_') && !KEPT_GIT_VARIABLES.test(name)) continue;
    if (holdsCredentialUrl(value) && !PROXY_VARIABLE.test(name)) continue;
    kept[name] = value;
  }
  return kept;
}

function baseEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...hostEnvironment };
  for (const [name, value] of Object.entries(extra)) {
    if (!name.startsWith('GIT_CONFIG')) env[name] = value;
  }
  return {
    ...env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
  };
}

function withConfig(env: NodeJS.ProcessEnv, config: ReadonlyArray<readonly [string, string]>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, GIT_CONFIG_COUNT: String(config.length) };
  config.forEach(([key, value], i) => {
    out[`GIT_CONFIG_KEY_${i}`] = key;
    out[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return out;
}

/**
 * The names read last for a repository, by the stamp of its config files: a snapshot runs git
 * about ten times in one worktree, and each would otherwise start a second git to read them.
 */
const namesByRepository = new Map<string, { stamp: string; names: string[] }>();
const MAX_CACHED_REPOSITORIES = 256;

/** Every config name in effect at `cwd` (repository config and what it includes), lower-cased by git. */
async function configuredNames(cwd: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const stamp = await configStamp(cwd);
  const cached = namesByRepository.get(cwd);
  if (stamp !== null && cached?.stamp === stamp) return cached.names;
  const names = await readConfiguredNames(cwd, env);
  // Included files change without the repository's own config changing: read those every time.
  if (stamp !== null && !names.some((name) => name.startsWith('include.') || name.startsWith('includeif.'))) {
    if (namesByRepository.size >= MAX_CACHED_REPOSITORIES) namesByRepository.delete(namesByRepository.keys().next().value!);
    namesByRepository.set(cwd, { stamp, names });
  }
  return names;
}

/**
 * The identity and times of the config files git reads at `cwd` (a worktree, a checkout or a bare
 * clone), found without running git; null where they cannot be told, and nothing is cached.
 */
async function configStamp(cwd: string): Promise<string | null> {
  try {
    let gitDir: string;
    const dotGit = join(cwd, '.git');
    const info = await stat(dotGit).catch(() => null);
    if (info?.isDirectory()) gitDir = dotGit;
    else if (info?.isFile()) {
      const line = /^gitdir: (.+)$/m.exec(await readFile(dotGit, 'utf8'))?.[1]?.trim();
      if (!line) return null;
      gitDir = resolve(cwd, line);
    } else if (!info && (await stat(join(cwd, 'HEAD')).catch(() => null))?.isFile()) gitDir = cwd;
    else return null;
    const common = await readFile(join(gitDir, 'commondir'), 'utf8').then((dir) => resolve(gitDir, dir.trim()), () => gitDir);
    const files = [join(common, 'config'), join(gitDir, 'config.worktree')];
    const stamps = await Promise.all(files.map((file) => stat(file, { bigint: true }).then((s) => `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`, () => 'none')));
    return `${files.join('\0')}\0${stamps.join('\0')}`;
  } catch {
    return null;
  }
}

async function readConfiguredNames(cwd: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const run = await execGit(cwd, ['config', '--list', '--name-only', '-z'], env, { maxBuffer: 16 * 1024 * 1024 });
  if (run.exitCode === 0 && !run.overflowed) return run.stdout.split('\0').filter((name) => name !== '');
  // Exit 1 without output: no config at all (outside a repository, with none of its own).
  if (run.exitCode === 1 && !run.stderr.trim()) return [];
  throw new GitError(['config', '--list'], `reading the repository's config failed: ${run.failure}`);
}

function filterOverrides(names: readonly string[]): Array<[string, string]> {
  const filters = new Set<string>();
  for (const name of names) {
    // Sections with a subsection: <section>.<subsection, may hold dots>.<key>.
    const first = name.indexOf('.');
    const last = name.lastIndexOf('.');
    if (first < 0 || last <= first) continue;
    const section = name.slice(0, first);
    const subsection = name.slice(first + 1, last);
    if (section === 'filter') filters.add(subsection);
  }
  const out: Array<[string, string]> = [];
  for (const driver of filters) {
    // Empty commands mean "no filter"; required=false keeps git from failing on their absence.
    out.push([`filter.${driver}.clean`, ''], [`filter.${driver}.smudge`, ''], [`filter.${driver}.process`, ''], [`filter.${driver}.required`, 'false']);
  }
  return out;
}

function withSubcommandOptions(args: readonly string[]): string[] {
  let i = 0;
  // Leading global options of our own call sites: `-c name=value` pairs.
  while (args[i] === '-c') i += 2;
  const out = [...args];
  const extra = Object.hasOwn(SUBCOMMAND_OPTIONS, args[i] ?? '') ? SUBCOMMAND_OPTIONS[args[i]] : [];
  out.splice(i + 1, 0, ...extra);
  return out;
}
