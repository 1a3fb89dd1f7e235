// Running a command: argv without a shell (the syntax is src/config/command-line.ts, which refuses
// whatever only a shell would give meaning to), in a process group of its own, supervised for its
// timeout, its output cap and the process ledger, inside the OS sandbox when it is repository code;
// and the environment it starts from, with secrets removed by name and by value.
import { type ChildProcess, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { MARKER_VARIABLE, type ProcessLedger } from './process-ledger.ts';
import { SANDBOX_HOME, sandboxMessage, type SandboxChoice, type SandboxLimits, watchLimits, wrapArgv } from './sandbox.ts';
import { behindProxy, FORWARDER_EXEC_FAILURE, proxyEnvironment, refusalText, startEgressProxy, type EgressProxy } from './sandbox-network.ts';

// Names are upper-cased and '-' read as '_' first: GitHub Actions hands action inputs over as
// INPUT_<NAME> with the input's own spelling (INPUT_ANTHROPIC-API-KEY).
const SECRET_PREFIXES = ['ANTHROPIC_', 'GITHUB_', 'ACTIONS_', 'INPUT_', 'AWS_', 'AZURE_', 'GOOGLE_', 'GCP_', 'GH_'];
const SECRET_PARTS = ['TOKEN', 'SECRET', 'PASSWORD', 'PASSWD', 'API_KEY', 'APIKEY', 'PRIVATE_KEY', 'CREDENTIAL', 'COOKIE', 'SSH_AUTH_SOCK'];
// Whole words only: `_AUTH` (npm's _auth) but not AUTHOR; `_PWD` (MYSQL_PWD) but not PWD/OLDPWD.
const SECRET_WORDS = /(^|_)(AUTH|PWD|KEY)$|(^|_)AUTH_/;

export function isSecretName(name: string): boolean {
  const upper = name.toUpperCase().replaceAll('-', '_');
  return SECRET_PREFIXES.some((prefix) => upper.startsWith(prefix)) || namesASecret(upper);
}

/**
 * The name itself says its value is a secret (a token, a password, a key), as opposed to a
 * vendor prefix, which only says it may be: AWS_CA_BUNDLE is removed, but its value (a CA file's
 * path, shared with NODE_EXTRA_CA_CERTS and SSL_CERT_FILE) is no secret to hunt for elsewhere.
 */
function namesASecret(upper: string): boolean {
  if (SECRET_PARTS.some((part) => upper.includes(part))) return true;
  return SECRET_WORDS.test(upper) && upper !== 'PWD';
}

// A URL whose authority carries userinfo (`scheme://user:pass@host`, `https://token@host`):
// database URLs, proxy settings, registry URLs with a token.
const CREDENTIAL_URL = /[a-z][a-z0-9+.-]*:\/\/[^/?#\s@]+@/i;

/** Whether `value` holds a URL with credentials in it. */
export const holdsCredentialUrl = (value: string): boolean => CREDENTIAL_URL.test(value);
// Shorter "secrets" would match ordinary values (a 4-digit PIN inside a PATH).
const MIN_HELD_SECRET_LENGTH = 8;

/**
 * The environment a command (agent run_command or gate step) sees: removed are variables named
 * like a secret (isSecretName), variables whose value holds a URL with credentials, and
 * variables whose value contains a secret Foreman holds: `heldSecrets` (tokens it minted or read
 * from elsewhere) and the value of every variable of `env` whose name says it is a secret (a key
 * copied into another variable). The rest is kept, and CI=1 unless set so that tools do not wait for
 * input or draw progress bars. Returns a new object.
 */
export function cleanEnvironment(env: NodeJS.ProcessEnv, heldSecrets: Iterable<string> = []): NodeJS.ProcessEnv {
  const held = new Set<string>();
  const hold = (secret: string | undefined): void => {
    if (secret && secret.length >= MIN_HELD_SECRET_LENGTH) held.add(secret);
  };
  for (const secret of heldSecrets) hold(secret);
  for (const [name, value] of Object.entries(env)) if (namesASecret(name.toUpperCase().replaceAll('-', '_'))) hold(value);
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || isSecretName(name) || holdsCredentialUrl(value)) continue;
    if ([...held].some((secret) => value.includes(secret))) continue;
    clean[name] = value;
  }
  // Set when Foreman itself runs under `node --test`: a project's own `node --test` would then
  // report to a parent runner that is not listening instead of printing its results.
  delete clean.NODE_TEST_CONTEXT;
  if (clean.CI === undefined) clean.CI = '1';
  return clean;
}

export interface ProcessResult {
  /** null when the process was ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /**
   * The tail of stdout and stderr, interleaved, capped at maxOutputChars plus a cut marker. With
   * `capture`, only Foreman's own notes (a timeout, a missing program): the output is in `captured`.
   */
  output: string;
  durationMs: number;
  /** With `capture`: stdout and stderr in full, up to its byte cap each. */
  captured?: CapturedOutput;
  /** Why the program never started (ENOENT, EACCES, ...), when it did not. */
  notStarted?: string;
}

export interface CapturedOutput {
  stdout: string;
  stderr: string;
  /** A stream passed the cap: the process was ended, and what was read up to the cap is kept. */
  overflowed: boolean;
}

export const DEFAULT_MAX_OUTPUT_CHARS = 64 * 1024;
/** Between SIGTERM and SIGKILL: long enough for test runners to clean up, short for a gate. */
export const KILL_GRACE_MS = 2000;

export interface RunProcessOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Killed (with its group) after this long; no limit when absent. */
  timeoutMs?: number;
  maxOutputChars?: number;
  /**
   * Keep stdout and stderr apart and whole, for programs whose output is data (git), instead of
   * the interleaved tail; a stream over `maxBytes` ends the process.
   */
  capture?: { maxBytes: number };
  /** Written to stdin, which is otherwise closed. */
  input?: string;
  signal?: AbortSignal;
  /** Where the group is written down while it runs, so a Foreman that dies cannot orphan it. */
  ledger?: ProcessLedger;
  /** Repository code: run it in the OS sandbox (sandbox.ts). Absent for Foreman's own commands. */
  sandbox?: SandboxedRun;
}

export interface SandboxedRun {
  choice: SandboxChoice;
  /** The worktree: the only place the command may write. cwd must lie inside it. */
  root: string;
  /** No network (build, test, agents), or these hosts only (the setup step; sandbox.network). */
  network: 'none' | { allow: readonly string[] };
  /** More paths that must not be visible inside (this Foreman's home). */
  hide?: readonly string[];
}

/** What a refused sandboxed command resolves with: nothing ran. */
const SANDBOX_REFUSED_EXIT_CODE = 126;

/**
 * Runs argv without a shell, stdin ignored, in its own process group so that on timeout or abort
 * the whole group (children of children too) gets SIGTERM, then SIGKILL after KILL_GRACE_MS.
 * Processes the program leaves behind when it exits are ended the same way. Never rejects: a
 * missing program resolves with exit code 127 and a message saying so.
 */
export async function runProcess(argv: readonly string[], opts: RunProcessOptions): Promise<ProcessResult> {
  const box = opts.sandbox;
  if (!box || box.choice.kind === 'off' || argv[0] === undefined || argv[0] === '' || opts.signal?.aborted) return spawnProcess(argv, opts, null);
  if (box.choice.kind === 'unavailable') {
    return { exitCode: SANDBOX_REFUSED_EXIT_CODE, signal: null, timedOut: false, output: `${argv[0]} was not run: ${sandboxMessage(box.choice)}. Foreman runs repository code only inside its sandbox.\n`, durationMs: 0 };
  }
  const sandbox = box.choice;
  const proxy: EgressProxy | null = box.network === 'none' ? null : await startEgressProxy(box.network.allow);
  try {
    const inner = proxy ? behindProxy(argv, sandbox.socat) : argv;
    const wrapped = wrapArgv(sandbox, inner, { root: box.root, network: proxy ? { proxySocketDir: proxy.dir } : 'none', ...(box.hide ? { hide: box.hide } : {}) }, opts.cwd, opts.env.PATH);
    const env = proxy ? proxyEnvironment(sandboxEnvironment(opts.env)) : sandboxEnvironment(opts.env);
    const result = await spawnProcess(wrapped, { ...opts, env }, { name: argv[0], limits: sandbox.limits });
    if (proxy && proxy.refused.length > 0 && result.exitCode !== 0) {
      return { ...result, output: `${result.output}[sandbox] ${refusalText(proxy.refused.join(', '), box.network === 'none' ? [] : box.network.allow)}` };
    }
    return result;
  } finally {
    await proxy?.close();
  }
}

// Paths into the user's home would name places that do not exist inside the sandbox.
const HOME_VARIABLES = ['XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME', 'XDG_RUNTIME_DIR', 'npm_config_cache', 'npm_config_userconfig', 'PWD', 'OLDPWD'];

function sandboxEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const inside: NodeJS.ProcessEnv = { ...env, HOME: SANDBOX_HOME, TMPDIR: '/tmp' };
  for (const name of HOME_VARIABLES) delete inside[name];
  return inside;
}

interface Sandboxed {
  /** The program as the caller named it, for messages (argv[0] is bwrap). */
  name: string;
  limits: SandboxLimits;
}

function spawnProcess(argv: readonly string[], opts: RunProcessOptions, sandboxed: Sandboxed | null): Promise<ProcessResult> {
  const [spawned, ...args] = argv;
  const program = sandboxed?.name ?? spawned;
  if (program === undefined || program === '') {
    return Promise.resolve({ exitCode: 127, signal: null, timedOut: false, output: 'no program to run: the command is empty; give a program and its arguments, e.g. npm test\n', durationMs: 0 });
  }
  if (opts.signal?.aborted) {
    return Promise.resolve({ exitCode: null, signal: null, timedOut: false, output: `${program} was not started: the run was stopped\n`, durationMs: 0 });
  }
  return new Promise((resolve) => new SupervisedProcess(spawned!, args, { program, opts, sandboxed, resolve }));
}

interface Supervision {
  /** The program as messages name it. */
  program: string;
  opts: RunProcessOptions;
  sandboxed: Sandboxed | null;
  resolve: (result: ProcessResult) => void;
}

type Exit = Omit<ProcessResult, 'output' | 'durationMs' | 'timedOut'>;

/**
 * One child in its own process group, watched from spawn until its pipes close: its output tail,
 * its timeout, the run's stop, the sandbox's limits, and the ledger entry while it runs.
 */
class SupervisedProcess {
  readonly #started = performance.now();
  readonly #how: Supervision;
  readonly #tail: OutputTail;
  readonly #capture: StreamCapture | null;
  readonly #child: ChildProcess;
  readonly #marker: string | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #stopWatching: () => void;
  #timedOut = false;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  #settled = false;
  #killTimer: NodeJS.Timeout | undefined;
  #closeTimer: NodeJS.Timeout | undefined;

  constructor(spawned: string, args: readonly string[], how: Supervision) {
    const { opts, program, sandboxed } = how;
    this.#how = how;
    this.#tail = new OutputTail(opts.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS);
    this.#capture = opts.capture ? new StreamCapture(opts.capture.maxBytes, () => this.#terminate()) : null;
    this.#marker = opts.ledger?.newMarker();
    const env = this.#marker ? { ...opts.env, [MARKER_VARIABLE]: this.#marker } : opts.env;
    const stdin = opts.input === undefined ? 'ignore' : 'pipe';
    const child = spawn(spawned, args, { cwd: opts.cwd, env, stdio: [stdin, 'pipe', 'pipe'], detached: true, shell: false });
    this.#child = child;
    if (this.#marker && child.pid !== undefined) opts.ledger!.record(child.pid, this.#marker, program);
    this.#listen(child);
    if (opts.input !== undefined) {
      // A program may exit before reading everything (a bad argument); its exit code reports that, not EPIPE.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(opts.input);
    }
    this.#timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
      this.#timedOut = true;
      this.#tail.line(`[timed out after ${opts.timeoutMs} ms: ${program} and its child processes were killed; make the command faster or raise the timeout]`);
      this.#terminate();
    }, opts.timeoutMs);
    opts.signal?.addEventListener('abort', this.#onAbort, { once: true });
    // Killing bwrap ends its pid namespace, and so every process of the command at once.
    this.#stopWatching = sandboxed && child.pid !== undefined
      ? watchLimits(child.pid, sandboxed.limits, (why) => {
          this.#tail.line(`[stopped by the sandbox: ${program} and its child processes were killed because ${why}; the limits are Foreman's sandbox limits (docs/security.md)]`);
          this.#killGroup('SIGKILL');
        })
      : () => undefined;
  }

  #listen(child: ChildProcess): void {
    const capture = this.#capture;
    if (capture) {
      child.stdout!.on('data', (chunk: Buffer) => capture.stdout.push(chunk));
      child.stderr!.on('data', (chunk: Buffer) => capture.stderr.push(chunk));
    } else {
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.#tail.push(chunk));
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.#tail.push(chunk));
    }
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (this.#exit) return;
      this.#tail.push(spawnFailureMessage(this.#how.program, this.#how.opts.cwd, error));
      this.#finish({ exitCode: spawnFailureCode(error), signal: null }, error.code ?? 'ERROR');
    });
    child.on('exit', (code, signal) => this.#onExit(code, signal));
    child.on('close', () => {
      if (this.#exit) this.#finish({ exitCode: this.#exit.code, signal: this.#exit.signal });
    });
  }

  readonly #onAbort = (): void => {
    if (!this.#exit) this.#tail.line(`[stopped: ${this.#how.program} was killed because the run was stopped]`);
    this.#terminate();
  };

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#exit = { code, signal };
    clearTimeout(this.#timer);
    // Whatever the program left running in its group (servers, watchers, `cmd &`) would keep
    // the pipes open and outlive the step.
    this.#terminate();
    // A process that left the group (setsid) and still holds the pipe must not hang the step.
    this.#closeTimer = setTimeout(() => {
      this.#child.stdout!.destroy();
      this.#child.stderr!.destroy();
      this.#finish({ exitCode: code, signal });
    }, KILL_GRACE_MS + 1000);
    this.#closeTimer.unref();
  }

  #killGroup(sig: NodeJS.Signals): void {
    if (this.#child.pid === undefined) return;
    try {
      process.kill(-this.#child.pid, sig);
    } catch {
      // ESRCH: the group is gone already.
    }
  }

  #terminate(): void {
    if (this.#killTimer) return;
    this.#killGroup('SIGTERM');
    this.#killTimer = setTimeout(() => this.#killGroup('SIGKILL'), KILL_GRACE_MS);
    this.#killTimer.unref();
  }

  #finish(result: Exit, notStarted?: string): void {
    if (this.#settled) return;
    this.#settled = true;
    const { opts, program, sandboxed, resolve } = this.#how;
    this.#stopWatching();
    clearTimeout(this.#timer);
    clearTimeout(this.#closeTimer);
    opts.signal?.removeEventListener('abort', this.#onAbort);
    if (this.#marker && this.#child.pid !== undefined) opts.ledger!.forget(this.#child.pid);
    const output = this.#tail.text();
    const durationMs = Math.round(performance.now() - this.#started);
    const missing = sandboxed ? unstartedInSandbox(result.exitCode, output) : null;
    if (missing) {
      resolve({ exitCode: spawnFailureCode(missing), signal: null, timedOut: this.#timedOut, output: spawnFailureMessage(program, opts.cwd, missing), durationMs, notStarted: missing.code! });
      return;
    }
    const captured = this.#capture?.result();
    resolve({ ...result, timedOut: this.#timedOut, output, durationMs, ...(captured ? { captured } : {}), ...(notStarted ? { notStarted } : {}) });
  }
}

/** stdout and stderr kept apart, each whole up to `maxBytes`; the first to pass it calls `onOverflow`. */
class StreamCapture {
  readonly stdout: CappedBuffer;
  readonly stderr: CappedBuffer;

  constructor(maxBytes: number, onOverflow: () => void) {
    this.stdout = new CappedBuffer(maxBytes, onOverflow);
    this.stderr = new CappedBuffer(maxBytes, onOverflow);
  }

  result(): CapturedOutput {
    return { stdout: this.stdout.text(), stderr: this.stderr.text(), overflowed: this.stdout.overflowed || this.stderr.overflowed };
  }
}

class CappedBuffer {
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  overflowed = false;
  readonly #max: number;
  readonly #onOverflow: () => void;

  constructor(max: number, onOverflow: () => void) {
    this.#max = max;
    this.#onOverflow = onOverflow;
  }

  push(chunk: Buffer): void {
    if (this.overflowed) return;
    const room = this.#max - this.#bytes;
    if (chunk.length > room) {
      this.#chunks.push(chunk.subarray(0, room));
      this.#bytes = this.#max;
      this.overflowed = true;
      this.#onOverflow();
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  /** Decoded once at the end, so a character split across chunks stays whole. */
  text(): string {
    return Buffer.concat(this.#chunks, this.#bytes).toString('utf8');
  }
}

/**
 * bwrap, or the setup step's forwarder, reports a program it cannot start as its own failure;
 * this is that failure as a bare spawn would have reported it, or null.
 */
function unstartedInSandbox(exitCode: number | null, output: string): NodeJS.ErrnoException | null {
  const missing = exitCode === 1 ? /^bwrap: execvp [^\n]*: (No such file or directory|Permission denied)\n?$/.exec(output) : exitCode === 126 || exitCode === 127 ? FORWARDER_EXEC_FAILURE.exec(output) : null;
  if (!missing) return null;
  return Object.assign(new Error(missing[1]), { code: missing[1] === 'Permission denied' ? 'EACCES' : 'ENOENT' });
}

function spawnFailureCode(error: NodeJS.ErrnoException): number {
  return error.code === 'EACCES' ? 126 : 127;
}

function spawnFailureMessage(program: string, cwd: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT' && !isDirectory(cwd)) {
    return `${program} could not start: its working directory ${cwd} does not exist; check the worktree was not removed\n`;
  }
  if (error.code === 'ENOENT') {
    return `${program}: program not found (not on PATH and not a file); install it on the machine that runs Foreman, or change the command\n`;
  }
  if (error.code === 'EACCES') {
    return `${program}: permission denied; make the file executable (chmod +x) or run it through its interpreter (e.g. sh ${program})\n`;
  }
  return `${program} could not start: ${error.message}; check the command\n`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Keeps the last `max` characters of a stream without holding all of it. */
class OutputTail {
  private chunks: string[] = [];
  private held = 0;
  private dropped = 0;
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  push(chunk: string): void {
    this.chunks.push(chunk);
    this.held += chunk.length;
    // Compact only when well over the cap, so that a chatty process costs O(total) not O(n²).
    if (this.held > this.max * 2) this.compact();
  }

  /** A note of Foreman's own, on a line of its own. */
  line(text: string): void {
    const last = this.chunks[this.chunks.length - 1];
    this.push(last === undefined || last.endsWith('\n') ? `${text}\n` : `\n${text}\n`);
  }

  private compact(): void {
    const all = this.chunks.join('');
    const cut = Math.max(0, all.length - this.max);
    this.dropped += cut;
    this.chunks = [all.slice(cut)];
    this.held = all.length - cut;
  }

  text(): string {
    this.compact();
    const body = this.chunks.join('');
    return this.dropped > 0 ? `[… ${this.dropped} earlier characters of output cut …]\n${body}` : body;
  }
}
