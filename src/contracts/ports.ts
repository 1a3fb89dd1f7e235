// The ports of the run engine: the parts it drives (agents, the repository's changes, where
// verified changes go) and the values that cross them. The engine imports no GitHub or Anthropic
// code: agents reach it only through AgentRunner.
import type { Usage } from './usage.ts';

/** Options a script may pass to `agent()`, after the sandbox has copied them out as JSON. */
export interface AgentOptions {
  schema?: Record<string, unknown>;
  label?: string;
  phase?: string;
  model?: string;
  effort?: string;
  agentType?: string;
  isolation?: 'worktree';
  /** Foreman: a read-only agent inside a change's worktree (reviewers). Only the id is used. */
  cwd?: { id?: unknown };
}

/** One agent for the AgentRunner to run. */
export interface AgentRequest {
  /** 1-based index of the agent in this run (stable across resume for display only). */
  index: number;
  prompt: string;
  /** Resolved model id (aliases already expanded). */
  model: string;
  schema?: Record<string, unknown>;
  label?: string;
  /** Directory the agent's tools are confined to. */
  root: string;
  /**
   * A write agent (change(), isolation: 'worktree') also gets edit_file, write_file and
   * run_command; its root is its own worktree.
   */
  write?: boolean;
  signal: AbortSignal;
  /** Asked before every model turn; a non-null answer stops the agent (it resolves to null). */
  shouldStop: () => string | null;
  /** Called after every model response with the usage of that response. */
  onUsage: (usage: Usage, model: string) => void;
}

export interface ToolCallRecord {
  name: string;
  input: unknown;
  /** Output as returned to the model, truncated for storage. */
  output: string;
  isError: boolean;
}

export interface Transcript {
  system: string;
  prompt: string;
  turns: Array<{ text: string; toolCalls: ToolCallRecord[] }>;
  final: unknown;
}

export type AgentStatus = 'done' | 'stopped' | 'error' | 'schema-failed';

export interface AgentOutcome {
  status: AgentStatus;
  /** Final text, or the validated object for schema agents. null unless status is 'done'. */
  result: unknown;
  /** Why the agent did not finish ('stopped', 'error', 'schema-failed'). */
  error?: string;
  usage: Usage;
  costUsd: number;
  turns: number;
  elapsedMs: number;
  transcript: Transcript;
}

export interface AgentRunner {
  run(request: AgentRequest): Promise<AgentOutcome>;
  /** A run is starting that may run `concurrency` agents at once: get ready (open connections). */
  prepare?(concurrency: number): void;
}

// ---- verified fixes ------------------------------------------------------------------------

export interface ChangeFile {
  path: string;
  additions: number;
  deletions: number;
}

/** What `change()` resolves to in the script. */
export interface Change {
  id: string;
  label: string;
  /** The write agent's final answer (text, or the object for a schema). */
  result: unknown;
  files: ChangeFile[];
  /** Unified diff against the base, capped (MAX_DIFF_CHARS). */
  diff: string;
}

export type GateStepName = 'setup' | 'build' | 'test';

export interface GateStep {
  name: GateStepName;
  command: string;
  /** null when the process was killed (timeout, stop) before it exited. */
  exitCode: number | null;
  durationMs: number;
  /** The tail of stdout and stderr, interleaved. */
  output: string;
  /** Dependencies came from a cache shared across worktrees instead of a fresh install. */
  reused?: boolean;
}

/** What `gate()` resolves to in the script. */
export interface GateResult {
  passed: boolean;
  steps: GateStep[];
}

/** A verified change, as handed to a Proposer. */
export interface ProposalRequest {
  runId: string;
  changeId: string;
  /** foreman/<run>/<slug> */
  branch: string;
  /**
   * What every branch of this change starts with, whatever its title: a branch of it that the
   * journal does not know of (a propose() cut short, then resumed with an edited title) is this
   * change's earlier proposal when its commit says so, and is used instead of a new one.
   */
  branchPrefix?: string;
  /** The change commit (under refs/foreman/<run>/<id>), a child of baseSha. */
  commitSha: string;
  baseSha: string;
  title: string;
  /** Markdown, already rendered with the gate results and the cost: the pull request body. */
  body: string;
  /**
   * The proposal commit's message: title, the script's body and trailers. It leaves out the
   * gate timings and cost, so that the commit (and its sha) is the same when a resume proposes again.
   */
  message: string;
  draft: boolean;
}

export interface Proposal {
  branch: string;
  /** The pull request, when the proposer opens one. */
  pr: { number: number; url: string } | null;
  /** false when the branch or PR already existed and was returned as is. */
  created: boolean;
}

/** Where verified changes go: local branches (CLI) or pull requests (App, Action). */
export interface Proposer {
  propose(request: ProposalRequest): Promise<Proposal>;
}

/** The engine's handle on the repository for write agents; the service implements it. */
export interface ChangeWorkspace {
  /** A fresh worktree of the base commit: the write agent's root. */
  open(changeId: string): Promise<string>;
  /** Commits what the agent left under the change's ref; null when it changed nothing. */
  snapshot(changeId: string, message: string): Promise<{ commit: string; files: ChangeFile[]; diff: string; leftOut?: string[] } | null>;
  /** A worktree holding the change commit (reviewers, gate), recreated from the ref if needed. */
  checkout(changeId: string): Promise<string>;
  /** Removes the worktree, keeps the ref. */
  close(changeId: string): Promise<void>;
  /** Removes the worktree and the ref. */
  discard(changeId: string): Promise<void>;
  gate(changeId: string, signal: AbortSignal): Promise<GateResult>;
  propose(input: ProposeInput): Promise<Proposal>;
}

export interface ProposeInput {
  changeId: string;
  label: string;
  title: string;
  /** The script's body; the service renders it with the gate results and the cost. */
  body: string;
  draft: boolean;
  gate: GateResult;
  /** What the change cost: its write agent and every agent that ran inside it (reviewers). */
  costUsd: number;
  files: ChangeFile[];
  /** The reviewers' verdicts, when the script passed them (fix() does). */
  votes?: ProposalVote[];
}

export interface ProposalVote {
  accepted: boolean;
  reason: string;
}

/** One change of a run, as `--json` and reports list it. */
export interface ChangeSummary {
  id: string;
  label: string;
  /** null until gated. */
  gate: 'passed' | 'failed' | null;
  branch: string | null;
  pr: string | null;
  status: 'open' | 'proposed' | 'discarded';
  /** Left by an isolation: 'worktree' agent rather than made with change(). */
  candidate: boolean;
}
