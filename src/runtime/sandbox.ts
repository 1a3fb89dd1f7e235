// Runs one workflow script in its own isolated-vm isolate (DESIGN §1–2). The script sees only the
// workflow globals, installed by sandbox-prelude.js; every call out of the isolate crosses as
// size-capped JSON text through isolated-vm References that stay in the prelude's closure.
//
// isolated-vm's own `timeout` option only covers synchronous execution, and a memory-limit
// disposal can happen while the script is between host calls, so a host-side watchdog polls the
// isolate's CPU time, the wall clock and `isDisposed` for the whole run.

import { readFileSync } from 'node:fs';
import ivm from 'isolated-vm';
import { MAX_PHASE_TITLES } from '../contracts/caps.ts';
import { RefusalError } from '../contracts/errors.ts';
import { parseHostCall, type HostCall, type HostCallKind } from '../contracts/host-calls.ts';


export interface SandboxHost {
  /**
   * The script's async calls, as contracts/host-calls.ts defines them, each request checked before
   * it gets here. 'workflow' must resolve to { body, file }, a validated nested script body. Resolves
   * to a JSON-able value; a rejection becomes an Error thrown in the script with the same message.
   */
  call(kind: HostCallKind, request: HostCall['request']): Promise<unknown>;
  log(message: string): void;
  phase(title: string): void;
  warn(message: string): void;
  /** Tokens spent so far, for budget.spent(). */
  budgetSpent(): number;
}

export interface SandboxLimits {
  /** Isolate heap limit in MB (isolated-vm's minimum is 8). */
  memoryLimitMb: number;
  /** CPU time the script itself may use; time spent waiting for host calls does not count. */
  cpuLimitMs: number;
  wallLimitMs: number;
}

export interface SandboxScript {
  /** Plain JS with top-level await and return; meta declared as `const meta = …`. */
  body: string;
  /** Shown in stack traces and error messages. */
  file: string;
}

export interface SandboxGlobals {
  args: unknown;
  /** null = no budget: budget.total is null and remaining() Infinity, as in Claude Code. */
  budgetTotal: number | null;
  maxItemsPerCall?: number;
}

export type SandboxFailure = 'memory' | 'cpu' | 'wall' | 'stopped' | 'script' | 'result';

export class SandboxError extends Error {
  readonly reason: SandboxFailure;
  /** For reason 'script': the error's stack inside the isolate, sandbox frames removed. */
  readonly scriptStack: string | undefined;

  constructor(reason: SandboxFailure, message: string, scriptStack?: string) {
    super(message);
    this.name = 'SandboxError';
    this.reason = reason;
    this.scriptStack = scriptStack;
  }
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  memoryLimitMb: 128,
  cpuLimitMs: 10_000,
  wallLimitMs: 14_400_000,
};
export const DEFAULT_MAX_ITEMS_PER_CALL = 4096;
/** Cap on any one JSON text crossing the boundary (arguments, results, args, the run's result). */
export const MAX_TRANSFER_CHARS = 8 * 1024 * 1024;
/** Cap on one message from the script: a log line, a warning, a thrown error's message or stack. */
export const MAX_MESSAGE_CHARS = 64 * 1024;
/** Cap on a phase title and an agent's label: the host shows and keeps them for the whole run. */
export const MAX_TITLE_CHARS = 200;
/**
 * What a run's script may print in all (log, warnings, phase titles): past it, its messages are
 * counted, not shown, so a script cannot fill a terminal, a CI log or the App's memory.
 */
export const MAX_RUN_MESSAGE_CHARS = 8 * 1024 * 1024;

const WATCHDOG_POLL_MS = 25;
const PRELUDE_FILE = 'foreman:sandbox-prelude.js';
const PRELUDE_SOURCE = readFileSync(new URL('./sandbox-prelude.js', import.meta.url), 'utf8');
// On the same line as the body's first line, so the script's line numbers are the file's.
const SCRIPT_PREFIX = '(async function () {';
const SCRIPT_SUFFIX = '\n})';

/** What the prelude's runMain reports, copied out of the isolate. */
type MainOutcome =
  | { outcome: 'ok'; json: string }
  | { outcome: 'result'; message: string }
  | { outcome: 'error'; name: string; message: string; stack: string };

/** `signal`: the run's stop; it ends the script at once, even one awaiting a promise that never settles. */
export async function runInSandbox(
  script: SandboxScript,
  globals: SandboxGlobals,
  host: SandboxHost,
  limits: Partial<SandboxLimits> = {},
  signal?: AbortSignal,
): Promise<unknown> {
  // Per key, so that a caller passing { cpuLimitMs: undefined } still gets the default.
  const effectiveLimits: SandboxLimits = {
    memoryLimitMb: limits.memoryLimitMb ?? DEFAULT_SANDBOX_LIMITS.memoryLimitMb,
    cpuLimitMs: limits.cpuLimitMs ?? DEFAULT_SANDBOX_LIMITS.cpuLimitMs,
    wallLimitMs: limits.wallLimitMs ?? DEFAULT_SANDBOX_LIMITS.wallLimitMs,
  };
  const preludeConfig = preludeConfigJson(globals);
  const isolate = new ivm.Isolate({ memoryLimit: effectiveLimits.memoryLimitMb });
  const watchdog = watch(isolate, effectiveLimits, signal);
  const messages = new MessageBudget(host);
  try {
    // Whichever settles first wins; Promise.race keeps a handler on the loser, so the run's
    // "isolate disposed" rejection after a watchdog stop is never unhandled.
    const outcome = await Promise.race([watchdog.tripped, runScript(isolate, script, preludeConfig, host, messages)]);
    return decodeOutcome(outcome, script.file);
  } catch (error) {
    throw watchdog.verdict ?? classifyFailure(error, isolate, effectiveLimits);
  } finally {
    watchdog.stop();
    if (!isolate.isDisposed) isolate.dispose();
    messages.close();
  }
}

async function runScript(
  isolate: ivm.Isolate,
  script: SandboxScript,
  preludeConfig: string,
  host: SandboxHost,
  messages: MessageBudget,
): Promise<MainOutcome> {
  const context = await isolate.createContext();
  const hostFunctions = [
    serveHostCall(host),
    messages.channel('log'),
    messages.channel('phase'),
    messages.channel('warn'),
    () => Number(host.budgetSpent()),
  ];
  const runMain = (await context.evalClosure(
    `${PRELUDE_SOURCE}\nreturn installWorkflowGlobals({ call: $0, log: $1, phase: $2, warn: $3, budgetSpent: $4 }, ${JSON.stringify(preludeConfig)});`,
    hostFunctions,
    { arguments: { reference: true }, result: { reference: true }, filename: PRELUDE_FILE },
  )) as ivm.Reference<(main: unknown) => Promise<MainOutcome>>;

  let compiled: ivm.Script;
  try {
    compiled = await isolate.compileScript(`${SCRIPT_PREFIX}${script.body}${SCRIPT_SUFFIX}`, {
      filename: script.file,
      columnOffset: -SCRIPT_PREFIX.length,
    });
  } catch (error) {
    if (isolate.isDisposed) throw error;
    // isolated-vm appends " [file:line:column]" to the message of a syntax error.
    const name = error instanceof Error ? error.name : 'SyntaxError';
    throw new SandboxError('script', `${name}: ${errorMessage(error)}`);
  }
  const main = (await compiled.run(context, { reference: true })) as ivm.Reference<unknown>;
  try {
    return await runMain.apply(undefined, [main.derefInto()], { result: { promise: true, copy: true } });
  } finally {
    // Released while the run is known to be over, rather than by the garbage collector whenever:
    // a handle collected as the process exits, after isolated-vm's own teardown, aborts the process.
    for (const handle of [main, compiled, runMain, context]) releaseQuietly(handle);
  }
}

function releaseQuietly(handle: { release(): void }): void {
  try {
    handle.release();
  } catch {
    // Already gone with a disposed isolate.
  }
}

function decodeOutcome(outcome: MainOutcome, file: string): unknown {
  switch (outcome.outcome) {
    case 'ok':
      return JSON.parse(outcome.json);
    case 'result':
      throw new SandboxError('result', `${file}: ${outcome.message}`);
    case 'error': {
      const scriptStack = withoutSandboxFrames(outcome.stack);
      const where = firstScriptFrame(scriptStack);
      const headline = `${outcome.name}: ${outcome.message}`;
      throw new SandboxError('script', where ? `${headline}\n    at ${where}` : `${file}: ${headline}`, scriptStack);
    }
  }
}

// ---- host side of the boundary ---------------------------------------------------------------

/**
 * The function behind the prelude's async host calls. It never rejects: failures travel as
 * {"ok":false,"message","refused"?} so the script gets an Error with exactly the host's message, and a call
 * that settles after the sandbox died has nothing left to reject into.
 */
function serveHostCall(host: SandboxHost): (kind: unknown, requestJson: unknown) => Promise<string> {
  return async (kind, requestJson) => {
    try {
      if (typeof kind !== 'string' || typeof requestJson !== 'string') {
        throw new TypeError('malformed host call from the sandbox');
      }
      const call = parseHostCall(kind, JSON.parse(requestJson));
      const value = await host.call(call.kind, call.request);
      if (call.kind === 'workflow') assertNestedScript(value, 'name' in call.request ? call.request.name : call.request.scriptPath);
      return `{"ok":true,"value":${replyJson(kind, value)}}`;
    } catch (error) {
      // A TypeError stays one in the script: a bad argument, not a failed call.
      return JSON.stringify({ ok: false, message: errorMessage(error), ...(error instanceof RefusalError ? { refused: true } : {}), ...(error instanceof TypeError ? { typeError: true } : {}) });
    }
  };
}

function replyJson(kind: string, value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value ?? null);
  } catch (error) {
    throw new TypeError(`${kind}() result is not JSON-serialisable: ${errorMessage(error)}`);
  }
  json ??= 'null';
  if (json.length > MAX_TRANSFER_CHARS) {
    throw new RangeError(
      `${kind}() result is ${megabytes(json.length)} as JSON; the limit is ${megabytes(MAX_TRANSFER_CHARS)}: ` +
        'ask for a shorter answer (a summary, or paths instead of contents)',
    );
  }
  return json;
}

function assertNestedScript(value: unknown, name: string): asserts value is SandboxScript {
  const script = value as Partial<SandboxScript> | null;
  if (typeof script?.body !== 'string' || typeof script.file !== 'string') {
    throw new TypeError(`workflow('${name}'): the host did not return a script { body, file }`);
  }
}

type MessageChannel = 'log' | 'phase' | 'warn';

/**
 * The host side of log(), warnings and phase(): the run's share of MAX_RUN_MESSAGE_CHARS. Each
 * notification answers whether the run still shows text; once it does not, the prelude sends only
 * the length of each log or warning (nothing is copied out of the isolate) and this counts it. A
 * phase title seen before still switches the phase, so agents keep landing in the right row.
 */
class MessageBudget {
  readonly #host: SandboxHost;
  #left = MAX_RUN_MESSAGE_CHARS;
  #dropped = 0;
  #droppedChars = 0;
  readonly #phases = new Set<string>();

  constructor(host: SandboxHost) {
    this.#host = host;
  }

  /** The function the prelude's `notify` calls for `channel`: (text or length) → still open. */
  channel(channel: MessageChannel): (message: unknown) => boolean {
    return (message) => {
      if (typeof message === 'number') this.#drop(message);
      else {
        const text = String(message);
        if (this.#admit(channel, text)) this.#tell(channel, text);
      }
      return this.#dropped === 0;
    };
  }

  #admit(channel: MessageChannel, text: string): boolean {
    if (channel === 'phase' && this.#phases.has(text)) return true;
    if (text.length > this.#left || (channel === 'phase' && this.#phases.size >= MAX_PHASE_TITLES)) {
      this.#drop(text.length);
      return false;
    }
    this.#left -= text.length;
    if (channel === 'phase') this.#phases.add(text);
    return true;
  }

  #drop(chars: number): void {
    if (this.#dropped === 0) {
      this.#tell(
        'warn',
        `the script's messages passed what a run shows (${megabytes(MAX_RUN_MESSAGE_CHARS)} of text, ${MAX_PHASE_TITLES} phase titles): ` +
          'its later log(), warnings and new phase titles are counted, not shown. Log summaries, not whole answers.',
      );
    }
    this.#dropped += 1;
    this.#droppedChars += Number.isFinite(chars) ? chars : 0;
  }

  /** Sync notifications must not throw into the script because a host listener failed. */
  #tell(channel: MessageChannel, text: string): void {
    try {
      this.#host[channel](text);
    } catch {
      // A broken log sink is the host's problem, not a reason to fail the script.
    }
  }

  close(): void {
    if (this.#dropped > 0) {
      this.#tell('warn', `${this.#dropped} of the script's messages (${megabytes(this.#droppedChars)}) were not shown: past what a run shows`);
    }
  }
}

function preludeConfigJson(globals: SandboxGlobals): string {
  // No args (and args that are JSON null, which is how the doors say "none") reach the script as
  // undefined, as in Claude Code.
  let argsJson: string | null = null;
  if (globals.args !== undefined && globals.args !== null) {
    try {
      argsJson = JSON.stringify(globals.args) ?? null;
    } catch (error) {
      throw new TypeError(`workflow args must be JSON-serialisable: ${errorMessage(error)}`);
    }
    if (argsJson !== null && argsJson.length > MAX_TRANSFER_CHARS) {
      throw new RangeError(
        `workflow args are ${megabytes(argsJson.length)} as JSON; the limit is ${megabytes(MAX_TRANSFER_CHARS)}`,
      );
    }
  }
  const budgetTotal = globals.budgetTotal;
  return JSON.stringify({
    argsJson,
    budgetTotal: budgetTotal === null || !Number.isFinite(budgetTotal) ? null : budgetTotal,
    maxItemsPerCall: globals.maxItemsPerCall ?? DEFAULT_MAX_ITEMS_PER_CALL,
    maxTransferChars: MAX_TRANSFER_CHARS,
    maxMessageChars: MAX_MESSAGE_CHARS,
    maxTitleChars: MAX_TITLE_CHARS,
  });
}

// ---- watchdog ----------------------------------------------------------------------------------

interface Watchdog {
  /** Rejects with the SandboxError that stopped the run; never resolves. */
  readonly tripped: Promise<never>;
  readonly verdict: SandboxError | undefined;
  stop(): void;
}

function watch(isolate: ivm.Isolate, limits: SandboxLimits, signal: AbortSignal | undefined): Watchdog {
  const startedAt = performance.now();
  const cpuLimitNs = BigInt(Math.round(limits.cpuLimitMs * 1e6));
  let verdict: SandboxError | undefined;
  let reject!: (error: SandboxError) => void;
  const tripped = new Promise<never>((_, rejectTripped) => {
    reject = rejectTripped;
  });
  // Only rejected when someone is racing it; avoid an unhandled rejection if nobody is any more.
  tripped.catch(() => {});

  const trip = (error: SandboxError): void => {
    if (verdict) return;
    stop();
    verdict = error;
    // Disposing terminates the script even in the middle of a loop.
    if (!isolate.isDisposed) isolate.dispose();
    reject(error);
  };
  // The script may be awaiting a promise that never settles, which no poll of its CPU time sees.
  const onStop = (): void => trip(stoppedError());
  if (signal?.aborted) queueMicrotask(onStop);
  else signal?.addEventListener('abort', onStop, { once: true });
  const timer = setInterval(() => {
    if (isolate.isDisposed) trip(memoryError(limits));
    else if (isolate.cpuTime > cpuLimitNs) trip(cpuError(limits));
    else if (performance.now() - startedAt > limits.wallLimitMs) trip(wallError(limits));
  }, WATCHDOG_POLL_MS);

  function stop(): void {
    clearInterval(timer);
    signal?.removeEventListener('abort', onStop);
  }

  return {
    tripped,
    get verdict() {
      return verdict;
    },
    stop,
  };
}

function classifyFailure(error: unknown, isolate: ivm.Isolate, limits: SandboxLimits): SandboxError {
  if (error instanceof SandboxError) return error;
  // isolated-vm disposes the isolate itself when the heap limit is hit; the run then fails with
  // "disposed … due to memory limit" or, after an await, "Promise was abandoned".
  if (isolate.isDisposed || /memory limit/i.test(errorMessage(error))) return memoryError(limits);
  return new SandboxError('script', errorMessage(error));
}

const memoryError = (limits: SandboxLimits): SandboxError =>
  new SandboxError(
    'memory',
    `The workflow script exceeded its memory limit of ${limits.memoryLimitMb} MB and was stopped. ` +
      "Lower the script's memory use (process items in batches, keep summaries instead of whole agent " +
      'answers) or raise the memory limit (limits.memoryMb in .github/foreman.yml).',
  );

const cpuError = (limits: SandboxLimits): SandboxError =>
  new SandboxError(
    'cpu',
    `The workflow script used more than ${limits.cpuLimitMs} ms of CPU time and was stopped (time spent ` +
      'waiting for agents does not count, so this is a loop or heavy computation in the script itself). ' +
      'Fix the loop, move heavy work into agents, or raise the CPU limit (limits.cpuMs in .github/foreman.yml).',
  );

const stoppedError = (): SandboxError => new SandboxError('stopped', 'the run was stopped');

const wallError = (limits: SandboxLimits): SandboxError =>
  new SandboxError(
    'wall',
    `The workflow run took longer than its wall-clock limit of ${formatDuration(limits.wallLimitMs)} and was ` +
      'stopped. Split the work into smaller runs, or raise the wall-clock limit (limits.wallMs in .github/foreman.yml, --max-time on the CLI).',
  );

// ---- formatting ---------------------------------------------------------------------------------

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function megabytes(chars: number): string {
  return `${(chars / (1024 * 1024)).toFixed(1)} MB`;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 6000) / 10} min`;
}

const STACK_FRAME = /^\s*at (?:async )?(?:.*? \()?(.+?:\d+:\d+)\)?$/;

/** Drops the prelude's and isolated-vm's frames: the script author cannot act on them. */
function withoutSandboxFrames(stack: string): string {
  return stack
    .split('\n')
    .filter((line) => !/^\s*at /.test(line) || !(line.includes(PRELUDE_FILE) || line.includes('<isolated-vm')))
    .join('\n');
}

/** "file:line:column" of the innermost frame in the script (or a nested workflow's script). */
function firstScriptFrame(stack: string): string | undefined {
  for (const line of stack.split('\n')) {
    const location = STACK_FRAME.exec(line)?.[1];
    if (location && !location.startsWith('eval at ')) return location;
  }
  return undefined;
}
