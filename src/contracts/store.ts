// The run store: runs, the journal of completed host calls, and agent transcripts. An interface,
// so many workers can later share PostgreSQL; the embedded default is SqliteStore.
import type { Usage } from './usage.ts';

/**
 * 'budget-exhausted': a cap (token budget, USD cap, agents per run) refused an agent, even if the
 * script caught the throw and returned; raising the cap and resuming finishes it.
 */
export type RunStatus = 'running' | 'completed' | 'failed' | 'stopped' | 'budget-exhausted';

/** The ceilings a resume may raise (DESIGN §2); the rest of a run's options stay as they were. */
export type RunCaps = Partial<Pick<RunOptions, 'budgetTokens' | 'maxCostUsd' | 'maxAgents' | 'maxTurns' | 'wallLimitMs'>>;

export interface RunOptions {
  model?: string;
  concurrency: number;
  budgetTokens: number | null;
  maxCostUsd: number | null;
  memoryLimitMb: number;
  cpuLimitMs: number;
  wallLimitMs: number;
  maxAgents: number;
  maxTurns: number;
  /**
   * The directory the run works in, relative to the repository's root; unset for the root. Agent
   * types and CLAUDE.md are looked up from there (the CLI's current directory), on resume too.
   */
  workDir?: string;
  /** The run was started read-only (CLI --read-only): its plain agents never write, resumed or not. */
  readOnly?: boolean;
  /** What the run's agents count against across runs (limits.spend), and those caps; kept for its resumes. */
  spend?: SpendScope[];
}

/** A cap on one scope's spend in one period: USD (every token, as maxCostUsd) and output tokens (as budgetTokens). */
export interface SpendCap {
  usd?: number;
  tokens?: number;
}

/** A repository or installation whose spend a run adds to, and its caps per UTC day and month. */
export interface SpendScope {
  kind: 'repository' | 'installation';
  /** `owner/repo` or the installation's id on GitHub; the repository's root path on the CLI. */
  id: string;
  day?: SpendCap;
  month?: SpendCap;
}

/** One row of the spend ledger: a scope (`repository:o/r`) in a period (`day:2026-12-01`, `month:2026-12`). */
export interface SpendKey {
  scope: string;
  period: string;
}

/** What an agent adds to each of `keys`, in the transaction that records it. */
export interface SpendCharge {
  keys: SpendKey[];
  usd: number;
  tokens: number;
}

/** A ledger row's totals; the largest single agent is what the gate expects the next one may cost. */
export interface SpendTotals {
  usd: number;
  tokens: number;
  agents: number;
  largestUsd: number;
  largestTokens: number;
}

export interface NewRun {
  id: string;
  workflow: string;
  origin: string;
  file: string;
  /** The script exactly as run, so a resume runs the same code even if the file changed. */
  source: string;
  args: unknown;
  repoDir: string;
  baseRef: string;
  baseSha: string;
  options: RunOptions;
  startedAt: string;
}

/** What a run executes: a resume with an edited script or new args replaces it (DESIGN: resume). */
export type RunScript = Pick<NewRun, 'workflow' | 'origin' | 'file' | 'source' | 'args'>;

/** A script and args the run executed before a resume replaced them, oldest first. */
export interface RunRevision extends RunScript {
  /** 1 for what the run started with. */
  revision: number;
  /** When the resume replaced it. */
  replacedAt: string;
}

export interface RunRecord extends NewRun {
  status: RunStatus;
  /** Process currently executing the run; used to tell a crashed run from a live one. */
  pid: number | null;
  /**
   * The host of that process, on a store shared by many hosts (PostgreSQL): a pid means nothing on
   * another host. Null where the store is one host's own file (SQLite).
   */
  host?: string | null;
  finishedAt: string | null;
  result: unknown;
  error: string | null;
  summary: unknown;
}

/** A completed host call: what resume replays instead of calling again. */
export interface JournalEntry {
  key: string;
  occurrence: number;
  /** Order in which the script made the call, in the execution that completed it. */
  seq: number;
  kind: string;
  output: unknown;
  /** Usage the call cost when it ran, replayed into budget.spent(). */
  usage: Usage | null;
  costUsd: number;
  /** Display only: phase and label of the agent. */
  phase: string | null;
  label: string | null;
}

export interface AgentRecord {
  /** 1-based number of the agent within the run, in the order agents finished being recorded. */
  no: number;
  key: string;
  occurrence: number;
  label: string | null;
  phase: string | null;
  model: string;
  status: string;
  prompt: string;
  usage: Usage;
  costUsd: number;
  turns: number;
  elapsedMs: number;
  error: string | null;
  transcript: unknown;
  finishedAt: string;
}

/**
 * What the run store keeps of one change ref (refs/foreman/<run>/<change>): a git bundle of the
 * change's commits on top of the run's base, so a worker with an empty disk can fetch the change.
 */
export interface ChangeBundle {
  ref: string;
  /** The commit the ref points at; the bundle's one ref. */
  sha: string;
  bundle: Uint8Array;
}

/**
 * The largest change bundle the store keeps. An agent's change is source edits, far below it; a
 * change this large is build output or data the agent wrote into the tree.
 */
export const MAX_CHANGE_BUNDLE_BYTES = 32 * 1024 * 1024;

/** The refusal of a bundle over `cap` bytes: what the cap is and what to do. */
export function oversizedBundleError(ref: string, bytes: number, cap = MAX_CHANGE_BUNDLE_BYTES): Error {
  const size = (n: number): string => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${n} bytes`);
  return new Error(
    `the commits of ${ref} make a ${size(bytes)} git bundle, over the ${size(cap)} cap on a change the run store keeps for resumes: ` +
      'keep generated files, dependencies and data out of the change (add them to .gitignore, or have the agent delete them)',
  );
}

/** How a run is claimed for a resume. */
export interface ClaimOptions {
  /**
   * The caller holds the work queue's lease for the run (an App worker): whoever held the run
   * before lost that lease, so the run is taken over whatever process is recorded as holding it.
   */
  takeOver?: boolean;
}

/** A change ref the store keeps a bundle for, without the bundle's bytes. */
export type StoredChange = Pick<ChangeBundle, 'ref' | 'sha'>;

/**
 * A write of a run by a store that is no longer the run's holder: another worker claimed it since
 * (its queue lease lapsed, or the CLI took it over). Nothing of the write was kept; the run must
 * stop here, since the new holder executes it from the journal.
 */
export class RunTakenOverError extends Error {
  constructor(runId: string, current: number, held: number) {
    super(`run ${runId} was taken over by another worker (generation ${current} > ${held}); this worker stops`);
    this.name = 'RunTakenOverError';
  }
}

export interface Store {
  createRun(run: NewRun): Promise<void>;
  getRun(id: string): Promise<RunRecord | null>;
  /** Newest first. */
  listRuns(limit?: number): Promise<RunRecord[]>;
  /**
   * Claims the run for process `pid`; false if another live process on this host holds it (or, on
   * a shared store, a process on another host, which this one cannot check), unless
   * `options.takeOver`. A claim starts a new generation of the run: from then on this store's
   * writes of the run are fenced by it, and a store holding an older generation gets
   * RunTakenOverError for every write (createRun starts generation 1 the same way).
   */
  claimRun(id: string, pid: number, options?: ClaimOptions): Promise<boolean>;
  /** Stores the caps a resume raised, so the next resume starts from them. */
  updateRunOptions(id: string, options: RunOptions): Promise<void>;
  /** Keeps the run's script and args as a revision, then runs `next` from now on; one transaction. */
  reviseRun(id: string, next: RunScript, replacedAt: string): Promise<void>;
  /** What the run executed before its resumes replaced it, oldest first. */
  listRevisions(id: string): Promise<RunRevision[]>;
  finishRun(
    id: string,
    outcome: { status: RunStatus; result: unknown; error: string | null; summary: unknown; finishedAt: string },
  ): Promise<void>;
  loadJournal(runId: string): Promise<JournalEntry[]>;
  /** Durable when the promise resolves. */
  appendJournal(runId: string, entry: JournalEntry): Promise<void>;
  /**
   * Records an agent's transcript and, when it completed, its journal entry, in one durable
   * transaction: one disk sync per agent rather than two. `spend` is added to the spend ledger in
   * the same transaction, so runs on many workers add up exactly.
   */
  recordAgent(runId: string, agent: Omit<AgentRecord, 'no'>, completed?: JournalEntry, spend?: SpendCharge): Promise<number>;
  /** The spend ledger's totals for each key, in order; zero where nothing was recorded. */
  readSpend(keys: readonly SpendKey[]): Promise<SpendTotals[]>;
  /** The run's agents in order, without their transcripts (`transcript` null): a list never reads a thousand of them. */
  listAgents(runId: string): Promise<AgentRecord[]>;
  /** One agent with its transcript. */
  getAgent(runId: string, no: number): Promise<AgentRecord | null>;
  /**
   * Keeps a change ref's bundle for the run, replacing what the ref had; the same ref with the
   * same sha again is a no-op. Durable when the promise resolves. Refuses a bundle over
   * MAX_CHANGE_BUNDLE_BYTES.
   */
  saveChangeBundle(runId: string, bundle: ChangeBundle): Promise<void>;
  /** Forgets a change ref's bundle (the change was discarded, or proposed and the run completed). */
  deleteChangeBundle(runId: string, ref: string): Promise<void>;
  /** The run's change bundles, by ref. Every bundle's bytes: a resume lists refs (listChanges) instead. */
  listChangeBundles(runId: string): Promise<ChangeBundle[]>;
  /** The refs the run's bundles are kept for and their commits, by ref, without the bytes. */
  listChanges(runId: string): Promise<StoredChange[]>;
  /** One ref's bundle; null if the store keeps none for it. */
  getChangeBundle(runId: string, ref: string): Promise<ChangeBundle | null>;
  /**
   * Reads the text stored under `key` (null when none), and stores what `change` returns in its
   * place, atomically across every process sharing the store: N workers' model requests pace one
   * organisation's rate limits through it (src/agents/shared-rate-limiter.ts). `change` runs inside
   * the lock, so it must be quick and must not await.
   */
  updateRateLimit<T>(key: string, change: (state: string | null) => { state: string; result: T }): Promise<T>;
  /** A run is about to record agents: set up what its writes need now, not on the first one. */
  prepareWrites?(): void;
  close(): Promise<void>;
}

