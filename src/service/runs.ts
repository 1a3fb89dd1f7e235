// The one core every front door calls: find and validate a script, pin the base commit, create
// the run, give its agents their shared checkout, execute, clean up. Front doors only parse input and
// render output.
import { randomBytes } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { loadConfig, modelTable } from '../config/load.ts';
import { CONFIG_DEFAULTS, type ForemanConfig } from '../config/schema.ts';
import { AnthropicAgentRunner, warmRequestPath } from '../agents/client.ts';
import { RateGovernor } from '../agents/governor.ts';
import { SharedRateLimiter, type Priority } from '../agents/shared-rate-limiter.ts';
import { runCacheTtl } from '../agents/cache-ttl.ts';
import { executeRun, type NestedRef, type ResumeAdvice, type RunOutcome } from '../runtime/engine.ts';
import type { RunListener } from '../contracts/events.ts';
import { SqliteStore } from '../runtime/sqlite-store.ts';
import { PostgresStore } from '../runtime/postgres-store.ts';
import { openDatabase, redactedUrl } from '../runtime/database-url.ts';
import { heldElsewhere, isRunLive, THIS_HOST, type RunCaps, type RunOptions, type RunRecord, type RunScript, type Store } from '../runtime/store.ts';
import type { RunEdit } from '../contracts/events.ts';
import { canonicalJson } from '../runtime/journal.ts';
import type { RequestedScript } from './scripts.ts';
import { ProcessLedger, processLedgerDir } from '../workspace/process-ledger.ts';
import { pruneStaleWorktrees, removeRunWorktrees, repositoryRoot } from '../workspace/checkout.ts';
import { openSharedWorktree } from '../workspace/changes.ts';
import { resolveBase, uncommittedNote } from './checkout-notes.ts';
import { availableNames, resolveScriptPath, resolveWorkflow, workflowDirs, WorkflowNotFoundError, type WorkflowDirs, type WorkflowSource } from '../workflows/load.ts';
import { validateScript, type WorkflowMeta } from '../workflows/validate.ts';
import type { Proposer } from '../contracts/ports.ts';
import { BranchProposer } from '../workspace/branch-proposer.ts';
import { createRunWorkspace } from './workspace.ts';
import { stopOnTakeOver } from './run-fence.ts';
import { restoreRunChanges, storeKeeper } from './kept-changes.ts';
import { loadAgentContext } from './agent-context.ts';
import { detectSandbox, type SandboxChoice } from '../workspace/sandbox.ts';
import { webSettings } from '../agents/web-tools.ts';
import { resumedSpendScopes, spendScopes, type SpendScopeNames } from './spend-scopes.ts';

/** Where the SDK sends requests when neither the door nor ANTHROPIC_BASE_URL names another. */
const DEFAULT_API_URL = 'https://api.anthropic.com';

export interface ServiceEnv {
  /** $FOREMAN_HOME: the store (unless databaseUrl) and the worktrees. */
  home: string;
  /** DATABASE_URL: the store is in this PostgreSQL database, not in $FOREMAN_HOME's SQLite file. */
  databaseUrl?: string;
  /** The user's home, for ~/.claude/workflows. */
  userHome: string;
  builtinDir: string;
  apiKey?: string;
  baseURL?: string;
  listener?: RunListener;
  signal?: AbortSignal;
  /**
   * Called once the run exists, before any agent starts; awaited, so a door can record the run id
   * durably first (a rejection ends the call before any agent runs).
   */
  onRunId?: (runId: string) => void | Promise<void>;
  /**
   * Notes for a person at a terminal (uncommitted work agents will not see, a resume that will
   * meet its script's error again); called after onRunId. Front doors without a person leave it out.
   */
  onNote?: (note: string) => void;
  /** Where propose() sends verified changes; the CLI's default is local branches. */
  proposer?: (repo: string) => Proposer;
  /** What gate and agent commands start from; secrets are removed before anything runs. */
  commandEnv: NodeJS.ProcessEnv;
  /**
   * Secrets Foreman holds besides those in commandEnv (installation tokens): a variable whose
   * value contains one, or the API key, is removed before a command runs. Read at every command:
   * a door that mints a new token during the run adds it here.
   */
  commandSecrets?: Iterable<string>;
  /** The repository's config when the front door read it itself (the App: from the default branch). */
  config?: ForemanConfig;
  /**
   * Where saved workflows (`.claude/workflows/`) are looked up instead of the repository's working
   * tree: the App runs in a bare clone and extracts them from the default branch.
   */
  workflowRoot?: string;
  /**
   * Where the CLI's user ran the command (the current directory or --repo): saved workflows are
   * looked up in each .claude/workflows from there up to the repository's root, closest first.
   */
  workflowsFrom?: string;
  /**
   * The code under review is not trusted (a fork's pull request without a maintainer's approval):
   * the reason. Nothing of it is built, tested or proposed, agents run no commands, and plain
   * agents are read-only; they still read it.
   */
  untrusted?: string;
  /**
   * The sandbox repository code runs in: the front door's choice (detected, or off when the CLI's
   * user said so). Default: detected, and refused where unavailable.
   */
  sandbox?: SandboxChoice;
  /** How this door's user resumes a run a stop or a cap ended (the engine's default is neutral). */
  howToResume?: ResumeAdvice;
  /**
   * The user's own agent types and CLAUDE.md (`~/.claude/agents/`, `~/.claude/CLAUDE.md` under
   * userHome) reach the run's agents: the CLI's user is the one at the keyboard; a run from GitHub
   * has no such user.
   */
  userClaude?: boolean;
  /**
   * Agent types and CLAUDE.md come from this commit of the repository (a bare clone) instead of its
   * working tree: the App reads the default branch's, as it does saved workflows.
   */
  projectCommit?: string;
  /**
   * Whether agents get web search and fetch when the config leaves `agents.web` out: the door's
   * choice, from CONFIG_DEFAULTS.agents.web.byDoor. Absent: no web.
   */
  webByDefault?: boolean;
  /** The ledger scopes the run's agents count against (limits.spend). Default: the repository's root directory. */
  spendScopes?: SpendScopeNames;
  /** Now, for the spend caps' UTC days and months. Default: the system clock. */
  clock?: () => Date;
  /** A store the door opened and closes itself (a test on PostgreSQL); default: the embedded one under `home`. */
  store?: Store;
  /**
   * Whose model requests go first when the organisation's rate limits run short: 'interactive'
   * (the CLI, a comment, a label; the default) or 'sweep' (a schedule, a release), which leaves a
   * share of every limit to interactive runs (docs/architecture.md, "Shared rate limits").
   */
  priority?: Priority;
  /**
   * A measurement switch, not a setting: false sends every prompt whole, as before shared prompt
   * prefixes were cached (bench/cache.ts compares the two). Default true.
   */
  sharePromptPrefixes?: boolean;
}

/** What a door may set of a run's model and caps; unset, the repository's config decides. */
export interface RunTuning {
  model?: string;
  concurrency?: number;
  budgetTokens?: number;
  maxCostUsd?: number;
  maxAgents?: number;
  /** The run's plain agents only list, read and search (CLI --read-only); kept for its resumes. */
  readOnly?: boolean;
  /** Model turns one agent may take. */
  maxTurns?: number;
  /** The run's wall clock, in milliseconds. */
  wallMs?: number;
}

export interface RunRequest extends RunTuning {
  ref: string;
  /** An already-made script (generated from free text): run it instead of looking `ref` up. */
  script?: { source: string; file: string; origin?: string };
  /** `ref` was typed on the CLI's command line: a file path in it may be opened (never from GitHub or a script). */
  typedPath?: boolean;
  args: unknown;
  repoDir: string;
  base: string;
}

export class UnknownRunError extends Error {}

/** The workflow declares `args: 'required'` in its meta and was given none; no run was made. */
export class MissingArgsError extends Error {
  constructor(workflow: string, whenToUse: string | undefined) {
    const what = whenToUse?.replace(/^args:\s*/i, '');
    super(`${workflow} needs args${what ? `: ${what}` : ''}`);
  }
}
export class RunBusyError extends Error {}

export const DEFAULT_LIMITS = {
  concurrency: CONFIG_DEFAULTS.limits.concurrency,
  maxAgents: CONFIG_DEFAULTS.limits.agentsPerRun,
  maxTurns: CONFIG_DEFAULTS.limits.maxTurns,
  memoryLimitMb: CONFIG_DEFAULTS.limits.memoryMb,
  cpuLimitMs: CONFIG_DEFAULTS.limits.cpuMs,
  wallLimitMs: CONFIG_DEFAULTS.limits.wallMs,
} as const;

export const storeFile = (home: string): string => join(home, 'foreman.db');
/** The run store: PostgreSQL at `databaseUrl` when one is given, else the SQLite file in `home`. */
export async function openStore(home: string, databaseUrl?: string): Promise<Store> {
  return databaseUrl ? openDatabase(databaseUrl, (url) => PostgresStore.open(url)) : new SqliteStore(storeFile(home));
}

/** Where the runs are, for messages: the file, or the database (without its password). */
export const storeName = (home: string, databaseUrl?: string): string => (databaseUrl ? redactedUrl(databaseUrl) : storeFile(home));

export async function startRun(request: RunRequest, env: ServiceEnv): Promise<RunOutcome> {
  const repo = await repositoryRoot(request.repoDir);
  const config = env.config ?? (await loadConfig(repo));
  const dirs = savedWorkflowDirs(env, repo);
  const workflow = request.script ? { origin: 'generated', ...request.script } : await resolveWorkflow(request.ref, dirs, { typedPath: request.typedPath === true });
  if (!workflow) throw new WorkflowNotFoundError(request.ref, await availableNames(dirs));
  const script = validateScript(workflow.source, workflow.file);
  if (script.meta.args === 'required' && (request.args === null || request.args === undefined)) {
    throw new MissingArgsError(script.meta.name, script.meta.whenToUse);
  }
  const baseSha = await resolveBase(repo, request.base);
  const workDir = await directoryInside(repo, request.repoDir);

  const store = env.store ?? (await openStore(env.home, env.databaseUrl));
  try {
    const run: RunRecord = {
      id: newRunId(),
      workflow: script.meta.name,
      origin: workflow.origin,
      file: workflow.file,
      source: workflow.source,
      args: request.args,
      repoDir: repo,
      baseRef: request.base,
      baseSha,
      options: { ...runOptions(config, request), ...(workDir ? { workDir } : {}), spend: spendScopes(config, env.spendScopes ?? { repository: repo }) },
      startedAt: new Date().toISOString(),
      status: 'running',
      pid: process.pid,
      finishedAt: null,
      result: null,
      error: null,
      summary: null,
    };
    await store.createRun(run);
    await env.onRunId?.(run.id);
    if (env.onNote) {
      const note = await uncommittedNote(repo, request.base, baseSha);
      if (note) env.onNote(note);
    }
    return await execute(store, run, config, env, null);
  } finally {
    if (!env.store) await store.close();
  }
}

/** The result of a finished run, to hand to another workflow as its args (`--from-run`). */
export async function runResult(home: string, runId: string, databaseUrl?: string): Promise<unknown> {
  const store = await openStore(home, databaseUrl);
  try {
    const run = await store.getRun(runId);
    if (!run) throw new UnknownRunError(`no run ${runId} in ${storeName(home, databaseUrl)}: \`foreman runs\` lists the runs there`);
    if (run.status !== 'completed') {
      throw new UnknownRunError(`run ${runId} is ${run.status} and has no result to pass on: finish it with \`foreman resume ${runId}\`, or pick a completed run`);
    }
    return run.result;
  } finally {
    await store.close();
  }
}

/** What a resume may change of a run besides its caps: the script it runs, its args. */
export interface ResumeRequest {
  /** Caps that replace the run's own (a budget-exhausted run resumes with a raised cap); unset ones stay. */
  caps?: RunCaps;
  /**
   * The script to run from now on: a workflow reference as `foreman run` takes it (a saved
   * workflow's name or, typed on the CLI, a path), or one a door already read (the App: the saved
   * workflow on the default branch now: `savedNow`, used only when the run started from a saved
   * workflow, never in place of a generated or built-in one). Validated as a new run's script is;
   * the same text as the stored script changes nothing.
   */
  script?: { ref: string; typedPath: boolean } | RequestedScript | { savedNow: RequestedScript };
  /** New args (wrapped, so that "no args" can be a value too). */
  args?: { value: unknown };
  /**
   * The repository to run in instead of the one the run started in: a clone on this worker (the
   * App's cache), when the run began on another worker or this one's disk was wiped. Its change
   * refs are restored there from the run store.
   */
  repoDir?: string;
  /**
   * Take the run over whatever process is recorded as holding it: the caller holds the work
   * queue's lease for it (the App's worker), or was told to (`foreman resume --take-over`, for a
   * run whose holder on another host is gone). The old holder's writes are refused from then on.
   */
  takeOver?: boolean;
}

/**
 * Continues a run from its journal, keeping its id. With an edited script or new args, every call
 * whose key still matches replays and only new or changed calls run; what the run executed before
 * is kept as a revision. Caps given are stored with the run for the next resume.
 */
export async function resumeRun(runId: string, given: ServiceEnv, request: ResumeRequest = {}): Promise<RunOutcome> {
  const store = given.store ?? (await openStore(given.home, given.databaseUrl));
  try {
    const stored = await store.getRun(runId);
    if (!stored) throw new UnknownRunError(`no run ${runId} in ${storeName(given.home, given.databaseUrl)}: \`foreman runs\` lists the runs there`);
    const run: RunRecord = request.repoDir === undefined ? stored : { ...stored, repoDir: await repositoryRoot(request.repoDir) };
    // Saved workflows (--script, workflow(name)) are looked up from where the run works, as its
    // agent types and memory are, wherever the resume is typed.
    const env: ServiceEnv = given.workflowRoot === undefined ? { ...given, workflowsFrom: join(run.repoDir, run.options.workDir ?? '') } : given;
    // Checked before the run is claimed: a script that does not validate leaves the run as it was.
    const next = await revisedScript(run, request, env);
    if (!(await store.claimRun(runId, process.pid, { takeOver: request.takeOver === true }))) throw busyError(runId, (await store.getRun(runId)) ?? run);
    const config = env.config ?? (await loadConfig(run.repoDir));
    const raised = Object.entries(request.caps ?? {}).filter(([, value]) => value !== undefined);
    const spend = resumedSpendScopes(run.options.spend, config);
    const options: RunOptions = { ...run.options, ...Object.fromEntries(raised), ...(spend ? { spend } : {}) };
    if (raised.length > 0 || canonicalJson(spend) !== canonicalJson(run.options.spend)) await store.updateRunOptions(runId, options);
    if (next.edited.length > 0) await store.reviseRun(runId, next.script, new Date().toISOString());
    await env.onRunId?.(run.id);
    const again = run.status === 'failed' && run.error && next.edited.length === 0 ? scriptErrorAdvice(run) : null;
    if (again) env.onNote?.(`run ${run.id} failed with: ${firstLine(run.error!)}. Resume runs the same script with the same args, so an error of the script itself comes back: ${again}`);
    const outcome = await execute(store, { ...run, ...next.script, options, status: 'running', pid: process.pid }, config, env, next.edited);
    if (again && outcome.status === 'failed' && outcome.error === run.error) {
      env.onNote?.(`the resumed run failed with the same error, so the script (or its args) must change: ${again}`);
    }
    return outcome;
  } finally {
    if (!given.store) await store.close();
  }
}

function busyError(runId: string, holder: RunRecord): RunBusyError {
  if (heldElsewhere(holder)) {
    return new RunBusyError(
      `run ${runId} is held by process ${holder.pid} on host ${holder.host}, which cannot be checked from this host (${THIS_HOST}): resume it on ${holder.host}, or, if that process is gone (the host was lost), take the run over with \`foreman resume ${runId} --take-over\``,
    );
  }
  return new RunBusyError(`run ${runId} is being executed by process ${holder.pid}: wait for it, or stop that process first`);
}

/** The script and args the resume runs, checked as a new run's are, and what differs from the last attempt. */
async function revisedScript(run: RunRecord, request: ResumeRequest, env: ServiceEnv): Promise<{ script: RunScript; edited: RunEdit[] }> {
  const script: RunScript = { workflow: run.workflow, origin: run.origin, file: run.file, source: run.source, args: request.args ? request.args.value : run.args };
  const edited: RunEdit[] = [];
  const given = await givenScript(run, request, env);
  if (given && given.source !== run.source) {
    Object.assign(script, { workflow: validateScript(given.source, given.file).meta.name, origin: given.origin, file: given.file, source: given.source });
    edited.push('script');
  }
  if (request.args && canonicalJson(request.args.value) !== canonicalJson(run.args)) edited.push('args');
  if (edited.length > 0) {
    const meta = validateScript(script.source, script.file).meta;
    if (meta.args === 'required' && (script.args === null || script.args === undefined)) throw new MissingArgsError(meta.name, meta.whenToUse);
  }
  return { script, edited };
}

/** The script the request names: for a reference, what `foreman run` would open for it. */
async function givenScript(run: RunRecord, request: ResumeRequest, env: ServiceEnv): Promise<RequestedScript | null> {
  const given = request.script;
  if (!given) return null;
  if ('savedNow' in given) return run.origin === 'repo' ? given.savedNow : null;
  if ('source' in given) return given;
  const dirs = savedWorkflowDirs(env, run.repoDir);
  const workflow = await resolveWorkflow(given.ref, dirs, { typedPath: given.typedPath });
  if (!workflow) throw new WorkflowNotFoundError(given.ref, await availableNames(dirs));
  return workflow;
}

const firstLine = (text: string): string => text.split('\n')[0];

/** How to get past an error of the script itself: resume with the script (or args) fixed. */
function scriptErrorAdvice(run: RunRecord): string {
  if (run.origin === 'generated') return `keep the script with \`foreman save ${run.id} <name>\`, fix .claude/workflows/<name>.js, then \`foreman resume ${run.id} --script <name>\``;
  const ref = run.origin === 'path' ? run.file : basename(run.file, '.js');
  return `fix the script or its args, then \`foreman resume ${run.id} --script ${ref}\` (or \`--args ...\`): the calls that still match replay`;
}

/** `edited`: null for a new run; for a resume, what it changed since the last attempt. */
/**
 * The governor starts at the agent concurrency, so back-off only ever lowers it; the limiter paces
 * every run on this store by the same organisation's limits together.
 */
function modelPacing(store: Store, concurrency: number, env: ServiceEnv): { governor: RateGovernor; limiter: SharedRateLimiter } {
  return {
    governor: new RateGovernor(concurrency),
    limiter: new SharedRateLimiter({ store, apiKey: env.apiKey, baseURL: env.baseURL ?? DEFAULT_API_URL, priority: env.priority ?? 'interactive' }),
  };
}

async function execute(claimed: Store, run: RunRecord, config: ForemanConfig, env: ServiceEnv, edited: RunEdit[] | null): Promise<RunOutcome> {
  // A worker that lost the run to another stops at its first refused write, as if stopped.
  const { store, takenOver } = stopOnTakeOver(claimed);
  const signal = env.signal ? AbortSignal.any([env.signal, takenOver]) : takenOver;
  const models = modelTable(config);
  const dirs = savedWorkflowDirs(env, run.repoDir);
  // The stored source, not the file: a resume runs what the crashed run ran, or what it was revised to.
  const script = validateScript(run.source, run.file);
  // Both cost the main thread while it would otherwise wait for git below, rather than when the
  // first agents are waiting to send or record.
  const warm = warmRequestPath().catch(() => undefined);
  store.prepareWrites?.();
  // Commands a killed Foreman left running would write into worktrees this run may recreate.
  const ledger = new ProcessLedger(processLedgerDir(env.home));
  const sandbox = env.sandbox ?? detectSandbox({ hide: [env.home] });
  ledger.reapOrphans();
  const agentRoot = await openRunCheckout(store, run, env.home, edited !== null);
  const agentsWrite = plainAgentsWrite(config, script.meta, run.options, env);
  await warm;
  try {
    // Once per run: every agent reads the same definitions and memory, and shares their cache.
    const context = await loadAgentContext({
      repo: run.repoDir,
      workDir: run.options.workDir ?? '',
      ...(env.projectCommit ? { commit: env.projectCommit } : {}),
      ...(env.userClaude ? { userHome: env.userHome } : {}),
    });
    const held = heldSecrets(env.apiKey, env.databaseUrl ? [env.databaseUrl, ...(env.commandSecrets ?? [])] : env.commandSecrets);
    const runner = new AnthropicAgentRunner({
      apiKey: env.apiKey,
      baseURL: env.baseURL,
      env: env.commandEnv,
      models,
      maxTurns: run.options.maxTurns,
      ...modelPacing(store, run.options.concurrency, env),
      cacheTtl: runCacheTtl({ sweep: env.priority === 'sweep', resumed: edited !== null }),
      ...(env.sharePromptPrefixes === false ? { sharedPrefixes: false } : {}),
      commands: env.untrusted ? [] : config.agents?.commands,
      commandTimeoutMs: config.agents?.commandTimeoutMs,
      commandEnv: env.commandEnv,
      commandSecrets: held,
      processLedger: ledger,
      sandbox,
      ...(context.memory ? { projectMemory: context.memory } : {}),
      web: webSettings(config.agents?.web, env.webByDefault === true, env.untrusted !== undefined),
    });
    const workspace = createRunWorkspace({
      repo: run.repoDir,
      home: env.home,
      runId: run.id,
      baseSha: run.baseSha,
      config,
      proposer: env.proposer ? env.proposer(run.repoDir) : new BranchProposer(run.repoDir),
      env: env.commandEnv,
      sandbox,
      secrets: held,
      sharedRoot: agentRoot,
      keeper: storeKeeper(store, run),
      ...(env.untrusted ? { refusal: env.untrusted } : {}),
    });
    return await executeRun(
      { store, runner, models, listener: env.listener, loadNested: (ref) => loadNested(ref, dirs, env.workflowRoot ?? run.repoDir), workspace, agentTypes: context.agentTypes },
      {
        run, script, agentRoot, agentsWrite,
        resumed: edited !== null,
        ...(edited?.length ? { edited } : {}),
        signal,
        unclaimedChanges: config.changes ?? CONFIG_DEFAULTS.changes,
        ...(env.howToResume ? { howToResume: env.howToResume } : {}),
        ...(context.warnings.length > 0 ? { warnings: context.warnings } : {}),
        ...(env.clock ? { clock: env.clock } : {}),
      },
    );
  } catch (error) {
    // finishRun was refused too: what the run ended with is the new holder's to say.
    throw takenOver.aborted ? takenOver.reason : error;
  } finally {
    await removeRunWorktrees(run.repoDir, env.home, run.id);
  }
}

/**
 * The run's shared worktree (the plain agents' root), once the worktrees no live run holds are
 * gone and, for a resume, the run's change refs are back in this clone: before anything reads
 * one, since the clone may never have had them (another worker's run) or lost them.
 */
async function openRunCheckout(store: Store, run: RunRecord, home: string, resumed: boolean): Promise<string> {
  if (resumed) await restoreRunChanges(store, run);
  await pruneStaleWorktrees(run.repoDir, home, async (id) => {
    if (id === run.id) return false;
    const other = await store.getRun(id);
    return other !== null && isRunLive(other);
  });
  return openSharedWorktree(run.repoDir, run.baseSha, home, run.id);
}

/** Where a run's workflow names are looked up: the App's extracted workflows, else the repository from where the CLI ran. */
function savedWorkflowDirs(env: ServiceEnv, repo: string): WorkflowDirs {
  if (env.workflowRoot !== undefined) return workflowDirs(env.workflowRoot, env.userHome, env.builtinDir);
  return workflowDirs(repo, env.userHome, env.builtinDir, env.workflowsFrom);
}

/** workflow(name) by name, as a run finds its own script; workflow({ scriptPath }) in the repository. */
async function loadNested(ref: NestedRef, dirs: WorkflowDirs, repoRoot: string): Promise<{ body: string; file: string }> {
  let workflow: WorkflowSource | null;
  if ('scriptPath' in ref) {
    workflow = await resolveScriptPath(ref.scriptPath, repoRoot);
  } else {
    workflow = await resolveWorkflow(ref.name, dirs);
    if (!workflow || workflow.origin === 'path') throw new WorkflowNotFoundError(ref.name, await availableNames(dirs));
  }
  const script = validateScript(workflow.source, workflow.file);
  return { body: script.body, file: script.file };
}

/** Where the run works inside the repository ('' at its root): the CLI's directory, as Claude Code's. */
async function directoryInside(repo: string, dir: string): Promise<string> {
  const inside = relative(await realpath(repo), await realpath(resolve(dir)).catch(() => resolve(dir)));
  return inside === '' || inside.startsWith('..') || isAbsolute(inside) ? '' : inside.split(sep).join('/');
}

/**
 * Whether the run's plain agents may edit their shared worktree and run commands: yes, as in Claude
 * Code, unless the config (agents.write, agents.readOnlyWorkflows), the script (meta.readOnly, as
 * the built-in audits declare), the run (--read-only) or untrusted code under review says no.
 */
function plainAgentsWrite(config: ForemanConfig, meta: WorkflowMeta, options: RunOptions, env: ServiceEnv): boolean {
  if (env.untrusted || options.readOnly === true || meta.readOnly === true) return false;
  if (config.agents?.readOnlyWorkflows?.includes(meta.name)) return false;
  return config.agents?.write ?? CONFIG_DEFAULTS.agents.write;
}

function runOptions(config: ForemanConfig, request: RunRequest): RunOptions {
  const limits = config.limits ?? {};
  return {
    model: request.model ?? config.models?.default,
    concurrency: request.concurrency ?? limits.concurrency ?? DEFAULT_LIMITS.concurrency,
    budgetTokens: request.budgetTokens ?? limits.budgetTokens ?? null,
    maxCostUsd: request.maxCostUsd ?? limits.maxCostUsd ?? null,
    memoryLimitMb: limits.memoryMb ?? DEFAULT_LIMITS.memoryLimitMb,
    cpuLimitMs: limits.cpuMs ?? DEFAULT_LIMITS.cpuLimitMs,
    wallLimitMs: request.wallMs ?? limits.wallMs ?? DEFAULT_LIMITS.wallLimitMs,
    maxAgents: request.maxAgents ?? limits.agentsPerRun ?? DEFAULT_LIMITS.maxAgents,
    maxTurns: request.maxTurns ?? limits.maxTurns ?? DEFAULT_LIMITS.maxTurns,
    ...(request.readOnly ? { readOnly: true } : {}),
  };
}


/** Sortable by start time and readable in a terminal: 20261121-134501-3f9a. */
function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** The API key and the door's secrets, read afresh each time a command's environment is made. */
function heldSecrets(apiKey: string | undefined, more: Iterable<string> | undefined): Iterable<string> {
  return {
    *[Symbol.iterator]() {
      if (apiKey) yield apiKey;
      if (more) yield* more;
    },
  };
}
