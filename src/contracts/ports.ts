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
  /** Foreman: the agent is stopped after this many milliseconds (it resolves to null). */
  timeoutMs?: number;
  /** Foreman: a failed agent runs again, up to this many more times. */
  retries?: number;
  /** Foreman: this agent's turn fuse, instead of the run's (config limits.maxTurns, --max-turns). */
  maxTurns?: number;
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
   * The agent also gets edit_file, write_file and run_command: a write agent (change(),
   * isolation: 'worktree') in its own worktree, or a plain agent in the run's shared worktree.
   */
  write?: boolean;
  /**
   * The Foreman tool names this agent may use (its agent type's `tools`), within what its kind
   * has; undefined = all of its kind. Never grants a tool its kind lacks.
   */
  tools?: readonly string[];
  /** The agent type's own prompt (the Markdown body of its definition), after Foreman's framing. */
  systemPrompt?: string;
  /** The agent type's command patterns (its `Bash(pattern)` rules), on top of `agents.commands`. */
  commands?: readonly string[];
  /** `root` is the run's shared worktree, which the run's other plain agents edit too. */
  shared?: boolean;
  signal: AbortSignal;
  /** Asked before every model turn; a non-null answer stops the agent (it resolves to null). */
  shouldStop: () => string | null;
  /** Called after every model response with the usage of that response. */
  onUsage: (usage: Usage, model: string) => void;
  /** Claude Code's effort level; sent where the model takes one. */
  effort?: string;
  /** This agent's turn fuse; the runner's own when unset. */
  maxTurns?: number;
  /** A warning for the run, shown once per `key` however many agents raise it. */
  warn?: (key: string, message: string) => void;
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
  /** Stopped by its own timeoutMs, not by the run: a failure retries may run again. */
  timedOut?: boolean;
  usage: Usage;
  costUsd: number;
  turns: number;
  elapsedMs: number;
  transcript: Transcript;
  /** The agent called a tool that writes or runs commands (edit_file, write_file, run_command). */
  wrote?: boolean;
}

/**
 * An agent type a script names with `opts.agentType`: a Claude Code subagent definition
 * (`.claude/agents/<name>.md` of the repository or the user) or one of Foreman's built-ins.
 */
export interface AgentTypeDefinition {
  /** The frontmatter's `name`. */
  name: string;
  description: string;
  /** Foreman tool names (Claude Code's mapped); undefined = all the tools of the agent's kind. */
  tools?: readonly string[];
  /** Tool names of the definition Foreman does not have (TodoWrite, Task, ...): ignored, with a warning. */
  ignoredTools?: readonly string[];
  /** Its `Bash(pattern)` rules as command patterns: its agents run only these; absent = any command. */
  commands?: readonly string[];
  /** A model alias or id; undefined = the call's or the run's model (`inherit`). */
  model?: string;
  /** The Markdown body: the agent's system prompt. */
  systemPrompt: string;
  /** Where it was found, as a message shows it: `.claude/agents/reviewer.md`, `~/.claude/agents/x.md`, `built-in`. */
  source: string;
}

/** The agent types of one run, loaded once by the host; the engine asks it at each `agent()` call. */
export interface AgentTypes {
  /** The definition `name` selects; else the message of the TypeError the script gets (known types, where they were looked for, or why a file could not be used). */
  resolve(name: string): AgentTypeDefinition | { error: string };
}

export interface AgentRunner {
  run(request: AgentRequest): Promise<AgentOutcome>;
  /** A run is starting that may run `concurrency` agents at once: get ready (open connections). */
  prepare?(concurrency: number): void;
  /**
   * An agent() call's prompt, as the call arrives and before it waits for a slot (replays too): the
   * runner finds the text sibling prompts share from them (prompt caching).
   */
  notePrompt?(prompt: string): void;
  /**
   * Why `schema` can never be used (not valid JSON Schema, too large, too slow to compile), or null
   * when it can: asked when agent() is called, before anything is paid for.
   */
  checkSchema?(schema: Record<string, unknown>, signal: AbortSignal): Promise<string | null>;
}

// ---- verified fixes ------------------------------------------------------------------------

/**
 * The shared worktree's snapshot (restored on resume); write agents' ids start with `c`. The
 * candidate change it becomes at the end of a run is named by its content,
 * `shared-<tree>`: a resume whose agents changed the tree again gets a new change, gated and
 * proposed afresh, instead of the journaled verdict of an older tree.
 */
export const SHARED_CHANGE_ID = 'shared';

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

/** A change's commit under its ref, what it changed, and the protected files left out (`path: why`). */
export interface ChangeSnapshot {
  commit: string;
  files: ChangeFile[];
  diff: string;
  leftOut?: string[];
}

/** The engine's handle on the repository for write agents; the service implements it. */
export interface ChangeWorkspace {
  /** A fresh worktree of the base commit: the write agent's root. */
  open(changeId: string): Promise<string>;
  /** Commits what the agent left under the change's ref; null when it changed nothing. */
  snapshot(changeId: string, message: string): Promise<ChangeSnapshot | null>;
  /**
   * Commits what the run's shared worktree (the plain agents' root) holds against the base, under
   * a change ref of its own (`id`), leaving the worktree as it is; null when it holds no change.
   * A resumed run's shared worktree starts from the last one. Calls run one at a time. With
   * `candidate`, the commit also becomes a change named by its content (`shared-<tree>`, the `id`).
   */
  snapshotShared(message: string, options?: { candidate?: boolean }): Promise<(ChangeSnapshot & { id: string }) | null>;
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
