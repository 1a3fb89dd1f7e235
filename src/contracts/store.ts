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

export interface Store {
  createRun(run: NewRun): Promise<void>;
  getRun(id: string): Promise<RunRecord | null>;
  /** Newest first. */
  listRuns(limit?: number): Promise<RunRecord[]>;
  /** Claims the run for process `pid`; false if another live process holds it. */
  claimRun(id: string, pid: number): Promise<boolean>;
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
   * transaction: one disk sync per agent rather than two.
   */
  recordAgent(runId: string, agent: Omit<AgentRecord, 'no'>, completed?: JournalEntry): Promise<number>;
  listAgents(runId: string): Promise<AgentRecord[]>;
  getAgent(runId: string, no: number): Promise<AgentRecord | null>;
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

