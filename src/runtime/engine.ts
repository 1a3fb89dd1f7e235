// The run engine: runs one script in the sandbox and serves its host calls through the journal
// (replay), the ceilings (agent cap, tokens, USD) and one p-limit for agents.
import pLimit, { type LimitFunction } from 'p-limit';
import { CAP_CONFIG_KEYS, type CapKind } from '../contracts/caps.ts';
import { CeilingError } from '../contracts/errors.ts';
import type { RunEdit, RunEvent, RunListener } from '../contracts/events.ts';
import type { HostCallHandlers, HostCallRequest, NestedRef, NestedWorkflow } from '../contracts/host-calls.ts';
import type { AgentRunner, AgentTypes, Change, ChangeSnapshot, ChangeWorkspace, GateResult, Proposal, ProposalVote } from '../contracts/ports.ts';
import type { RunRecord, RunStatus, Store } from '../contracts/store.ts';
import { AgentCalls } from './agent-calls.ts';
import { Ceilings, type Refusal } from './ceilings.ts';
import { SpendGate } from './spend.ts';
import { RunChanges, type ChangeState } from './changes.ts';
import { Journal, type CallTicket } from './journal.ts';
import type { ModelTable } from './pricing.ts';
import { ProgressTracker, type RunSummary } from './progress.ts';
import { runInSandbox, type SandboxHost } from './sandbox.ts';
import { SchemaChecks } from './schema-checks.ts';
import { agentOptionsSchema, changeOptionsSchema, checkedOptions } from './script-api-args.ts';

export type { NestedRef, NestedWorkflow } from '../contracts/host-calls.ts';

/**
 * After a stop ends the script, how long the host calls it left (aborted agents, a gate being
 * killed) get to record what they did before the run is finished.
 */
const STOP_SETTLE_MS = 10_000;

export interface EngineDeps {
  store: Store;
  runner: AgentRunner;
  models: ModelTable;
  /** Finds and validates a workflow for `workflow(name)` or `workflow({ scriptPath })`. */
  loadNested: (ref: NestedRef) => Promise<NestedWorkflow>;
  listener?: RunListener;
  /** Worktrees, gates and proposals for change(), gate(), propose(), discard() and fix(). */
  workspace?: ChangeWorkspace;
  /** What `opts.agentType` names resolve to (loaded once per run by the host); without it, none is known. */
  agentTypes?: AgentTypes;
}

export interface ExecuteOptions {
  run: RunRecord;
  script: { body: string; file: string };
  /** The root of plain agents: the run's checkout of the base commit, which they share. */
  agentRoot: string;
  /**
   * Plain agents may edit agentRoot and run commands in it, as Claude Code's agents share the
   * session's working directory; what they leave becomes one candidate change at the end of the
   * run (ChangeWorkspace.snapshotShared). Needs a workspace. Default: read-only.
   */
  agentsWrite?: boolean;
  resumed: boolean;
  /** What the resume changed since the last attempt (an edited script, new args). */
  edited?: RunEdit[];
  signal?: AbortSignal;
  /** What happens to changes isolation: 'worktree' agents leave unclaimed (config `changes`). */
  unclaimedChanges?: 'propose' | 'report';
  /**
   * How this run's user resumes it, raising `cap` first when one ended it: each front door has its
   * own way (a CLI command, the App's config and Resume button, the Action's inputs). The engine
   * says what happened and uses this for the remedy, both in the run's error and in the error a
   * refused agent() throws into the script.
   */
  howToResume?: ResumeAdvice;
  /** What the host found wrong while setting the run up (a CLAUDE.md it left out): the run's first warnings. */
  warnings?: readonly string[];
  /** Now, for the spend caps' UTC days and months (a test moves it to the next day). */
  clock?: () => Date;
}

/** A sentence telling the user how to resume `runId` (after raising `cap`, when one ended it). */
export type ResumeAdvice = (runId: string, cap: CapKind | null) => string;

/** The advice of a door that names none: the config key, which every door reads. */
const NEUTRAL_RESUME: ResumeAdvice = (_runId, cap) => (cap ? `raise the cap (${CAP_CONFIG_KEYS[cap]}) and resume the run` : 'resuming the run continues it');


export interface RunOutcome {
  runId: string;
  status: Exclude<RunStatus, 'running'>;
  result: unknown;
  error: string | null;
  summary: RunSummary;
}

export async function executeRun(deps: EngineDeps, options: ExecuteOptions): Promise<RunOutcome> {
  const journal = new Journal(await deps.store.loadJournal(options.run.id));
  return new RunExecution(deps, options, journal).execute();
}

/** What one run shares between its host calls: the journal, the ceilings, the changes made so far. */
export class RunExecution {
  readonly deps: EngineDeps;
  readonly options: ExecuteOptions;
  readonly run: RunRecord;
  readonly journal: Journal;
  readonly ceilings: Ceilings;
  readonly spend: SpendGate | null;
  readonly changes = new RunChanges();
  readonly limit: LimitFunction;
  readonly tracker = new ProgressTracker();
  readonly howToResume: ResumeAdvice;
  readonly #agents: AgentCalls;
  readonly #schemaChecks: SchemaChecks;
  // Each warning once per run, not once per agent of a 1,000-agent fan-out.
  readonly #warned = new Set<string>();
  /** Proposals under way, by change: a second propose() of one change waits for the first. */
  readonly #proposing = new Map<string, Promise<Proposal>>();
  /** Whether a plain agent touched the shared worktree in this attempt (noteSharedEdit). */
  #sharedEdited = false;
  // Host calls still running when the script ends; a stop waits for them to record (see #settle).
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(deps: EngineDeps, options: ExecuteOptions, journal: Journal) {
    this.deps = deps;
    this.options = options;
    this.run = options.run;
    this.journal = journal;
    this.ceilings = new Ceilings(options.run.options, options.signal);
    const scopes = options.run.options.spend ?? [];
    this.spend = scopes.length > 0 ? new SpendGate(deps.store, scopes, options.clock ?? (() => new Date())) : null;
    this.limit = pLimit(options.run.options.concurrency);
    this.howToResume = options.howToResume ?? NEUTRAL_RESUME;
    this.#agents = new AgentCalls(this);
    this.#schemaChecks = new SchemaChecks(deps.runner, () => this.signal);
  }

  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  emit(event: RunEvent): void {
    this.tracker.apply(event);
    this.deps.listener?.(event);
  }

  warnOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.emit({ type: 'warn', message });
  }

  noteSharedEdit(): void {
    this.#sharedEdited = true;
  }

  /** Snapshots the shared worktree (see ExecuteOptions.agentsWrite); what it left out is warned about once. */
  async saveSharedWorktree(candidate = false): Promise<(ChangeSnapshot & { id: string }) | null> {
    if (!this.options.agentsWrite || !this.deps.workspace) return null;
    const saved = await this.deps.workspace.snapshotShared(`${this.run.workflow}: the agents' edits\n\nForeman run ${this.run.id}`, { candidate });
    if (saved?.leftOut) {
      this.warnOnce(`protected:${saved.id}`, `the run's working tree: left out protected files its agents' commands changed (${saved.leftOut.join('; ')}); agents may not change them`);
    }
    return saved;
  }

  requireWorkspace(callee: string): ChangeWorkspace {
    if (!this.deps.workspace) throw new Error(`${callee} needs a repository workspace, and this run has none`);
    return this.deps.workspace;
  }

  /** What a refused call throws into the script: what happened and, for a cap, the door's remedy. */
  refusalError(callee: string, refusal: Refusal): CeilingError {
    const text = refusal.cap ? `${refusal.reason}: ${this.howToResume(this.run.id, refusal.cap)}, or make the workflow smaller` : refusal.reason;
    const call = callee === 'gate' || callee === 'propose' ? callee : 'agent';
    return new CeilingError(`${callee}() refused: ${text}`, { call, cap: refusal.cap, ...(refusal.limit === undefined ? {} : { limit: refusal.limit, used: refusal.used }) });
  }

  async execute(): Promise<RunOutcome> {
    const { run, options } = this;
    const edited = options.edited?.length ? { edited: options.edited } : {};
    this.emit({ type: 'run-started', runId: run.id, workflow: run.workflow, baseSha: run.baseSha, resumed: options.resumed, replayable: this.journal.completedCount, ...edited });
    for (const message of options.warnings ?? []) this.warnOnce(message, message);
    // While the sandbox starts, so the script's first agents find their connections open.
    this.deps.runner.prepare?.(run.options.concurrency);
    let { status, result, error } = await this.#runScript();
    await this.#settle();
    if (status === 'stopped') error = `the run was stopped; ${this.howToResume(run.id, null)}`;
    if (status === 'budget-exhausted') error = this.#capMessage(error);
    const summary = this.tracker.summary();
    if (options.resumed) summary.resume = { ...this.journal.replay, edited: options.edited ?? [] };
    await this.deps.store.finishRun(run.id, { status, result, error, summary, finishedAt: new Date().toISOString() });
    this.emit({ type: 'run-finished', status, ...(error ? { error } : {}) });
    return { runId: run.id, status, result, error, summary };
  }

  async #runScript(): Promise<Pick<RunOutcome, 'status' | 'result' | 'error'>> {
    const { run, signal } = this;
    const limits = run.options;
    const ended = (): RunOutcome['status'] | null => (signal?.aborted ? 'stopped' : this.ceilings.capThatEnded() ? 'budget-exhausted' : null);
    try {
      const result = await runInSandbox(
        this.options.script,
        { args: run.args, budgetTotal: limits.budgetTokens },
        this.#host(),
        { memoryLimitMb: limits.memoryLimitMb, cpuLimitMs: limits.cpuLimitMs, wallLimitMs: limits.wallLimitMs },
        signal,
      );
      if (!signal?.aborted) {
        await this.#sharedCandidate(result);
        await this.#settleCandidates();
      }
      const status = ended() ?? 'completed';
      if (status === 'completed') await this.#releaseProposed();
      return { status, result, error: null };
    } catch (cause) {
      return { status: ended() ?? 'failed', result: null, error: cause instanceof Error ? cause.message : String(cause) };
    }
  }

  /**
   * A stop ends the script at once, while its agents are still being aborted: what they did is
   * recorded before the run is marked stopped, so the resume knows it. Bounded, for a call that
   * ignores the stop.
   */
  async #settle(): Promise<void> {
    if (!this.signal?.aborted || this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([Promise.allSettled(this.#inFlight), new Promise((resolve) => (timer = setTimeout(resolve, STOP_SETTLE_MS)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The one message of a run a cap ended: which cap, how many agents it kept from finishing, and the
   * resume that raises it. A script error that was not the refusal itself follows, since it may be a
   * consequence (a null where an agent's answer was expected) or a bug of its own.
   */
  #capMessage(scriptError: string | null): string {
    const cap = this.ceilings.capThatEnded()!;
    const agents = this.ceilings.cappedAgents;
    const kept = `${agents} agent${agents === 1 ? '' : 's'} did not run or finish`;
    const resume = `${this.howToResume(this.run.id, cap.cap)}: only the agents that did not finish run again`;
    const after = scriptError && !scriptError.includes('agent() refused: ') ? `; the script then stopped with: ${scriptError}` : '';
    return `${cap.reason}: ${kept}; ${resume}${after}`;
  }

  // ---- the sandbox's host -----------------------------------------------------------------------

  #host(): SandboxHost {
    const handlers = this.#handlers();
    return {
      call: (kind, request) => {
        const call = (handlers[kind] as (request: HostCallRequest<typeof kind>) => Promise<unknown>)(request);
        this.#inFlight.add(call);
        const forget = (): void => void this.#inFlight.delete(call);
        call.then(forget, forget);
        return call;
      },
      log: (message) => this.emit({ type: 'log', message }),
      warn: (message) => this.emit({ type: 'warn', message }),
      phase: (title) => this.emit({ type: 'phase', title }),
      budgetSpent: () => this.ceilings.spentTokens,
    };
  }

  /** One handler per host call of contracts/host-calls.ts, each taking its checked request. */
  #handlers(): HostCallHandlers {
    const worktrees = this.deps.workspace !== undefined;
    return {
      agent: async ({ prompt, opts }) => {
        const checked = checkedOptions('agent', agentOptionsSchema, opts);
        await this.#schemaChecks.check('agent', checked.schema);
        if (checked.isolation === 'worktree' && !worktrees) {
          this.warnOnce('isolation:worktree', "isolation: 'worktree' agents run read-only here: this run has no repository workspace");
        }
        return this.#agents.run(checked.isolation === 'worktree' && worktrees ? 'worktree-agent' : 'agent', prompt, checked);
      },
      change: async ({ prompt, opts, failure }) => {
        const checked = checkedOptions('change', changeOptionsSchema, opts);
        await this.#schemaChecks.check('change', checked.schema);
        return this.#agents.run('change', prompt, checked, failure ?? 'null') as Promise<Change | null>;
      },
      workflow: (ref) => this.#workflow(ref),
      gate: ({ change }) => this.gate(change),
      propose: ({ change, title, body, draft, votes }) => this.propose(change, title, body, draft, votes),
      discard: ({ change }) => this.discard(change),
    };
  }

  // ---- workflow, gate, propose, discard --------------------------------------------------------

  /** Journals a completed non-agent call before the script sees it. */
  async #journalCall(ticket: CallTicket, kind: string, output: unknown, label: string): Promise<void> {
    const entry = { key: ticket.key, occurrence: ticket.occurrence, seq: ticket.seq, kind, output, usage: null, costUsd: 0, phase: null, label };
    await this.deps.store.appendJournal(this.run.id, entry);
    this.journal.remember(entry);
  }

  /** The nested script, journaled: a resume runs what the first run loaded, even if the file changed. */
  async #workflow(ref: NestedRef): Promise<NestedWorkflow> {
    const ticket = this.journal.ticket('workflow', ref);
    if (ticket.replay) return ticket.replay.output as NestedWorkflow;
    const nested = await this.deps.loadNested(ref);
    await this.#journalCall(ticket, 'workflow', nested, 'name' in ref ? ref.name : ref.scriptPath);
    return nested;
  }

  async gate(changeId: string): Promise<GateResult> {
    const workspace = this.requireWorkspace('gate()');
    const state = this.changes.require(changeId, 'gate(change)');
    const ticket = this.journal.ticket('gate', { change: changeId });
    let result = ticket.replay?.output as GateResult | undefined;
    if (!result) {
      const refusal = this.ceilings.stopRefusal();
      if (refusal) throw this.refusalError('gate', refusal);
      this.emit({ type: 'gate-started', changeId, label: state.label });
      result = await workspace.gate(changeId, this.signal ?? new AbortController().signal);
      if (this.signal?.aborted) throw new CeilingError('gate() stopped: the run was stopped', { call: 'gate', cap: null });
      await this.#journalCall(ticket, 'gate', result, state.label);
    }
    state.gate = result;
    const failed = result.steps.find((step) => step.exitCode !== 0);
    const durationMs = result.steps.reduce((total, step) => total + step.durationMs, 0);
    this.emit({ type: 'gate-finished', changeId, label: state.label, passed: result.passed, durationMs, ...(failed ? { failedStep: failed.name } : {}) });
    return result;
  }

  async propose(changeId: string, title: string, body: string, draft: boolean, votes: ProposalVote[] | undefined): Promise<Proposal> {
    const workspace = this.requireWorkspace('propose()');
    const state = this.changes.require(changeId, 'propose(change)');
    if (!state.gate?.passed) {
      throw new Error(
        `propose(): change ${changeId} (${state.label}) has ${state.gate ? 'failed' : 'not been through'} gate(): ` +
          'only a change whose gate passed can be proposed; call gate(change) and check .passed first',
      );
    }
    // A change is proposed once: its title, body, draft flag and votes are the proposal's words,
    // not its identity, so a resume with an edited title replays the branch and pull request
    // already opened, and a second propose() of the same change returns the first.
    if (state.proposal) return state.proposal;
    // Two propose() calls of one change at once (a script's parallel()) share the first.
    const inFlight = this.#proposing.get(changeId);
    if (inFlight) return inFlight;
    const proposing = this.#proposeOnce(workspace, changeId, state, { title, body, draft, votes });
    this.#proposing.set(changeId, proposing);
    try {
      return await proposing;
    } finally {
      this.#proposing.delete(changeId);
    }
  }

  async #proposeOnce(workspace: ChangeWorkspace, changeId: string, state: ChangeState, words: { title: string; body: string; draft: boolean; votes: ProposalVote[] | undefined }): Promise<Proposal> {
    const { title, body, draft, votes } = words;
    const ticket = this.journal.ticket('propose', { change: changeId });
    let proposal = ticket.replay?.output as Proposal | undefined;
    if (!proposal) {
      const refusal = this.ceilings.stopRefusal();
      if (refusal) throw this.refusalError('propose', refusal);
      // Checked by propose(): only a change whose gate passed gets here.
      const { label, gate, costUsd, files } = state;
      proposal = await workspace.propose({ changeId, label, title, body, draft, gate: gate!, costUsd, files, ...(votes ? { votes } : {}) });
      await this.#journalCall(ticket, 'propose', proposal, state.label);
    }
    state.proposal = proposal;
    this.emit({ type: 'change-proposed', changeId, label: state.label, branch: proposal.branch, url: proposal.pr?.url ?? null, created: proposal.created });
    return proposal;
  }

  async discard(changeId: string): Promise<null> {
    const workspace = this.requireWorkspace('discard()');
    const state = this.changes.require(changeId, 'discard(change)');
    if (state.proposal) throw new Error(`discard(): change ${changeId} (${state.label}) was already proposed on ${state.proposal.branch}`);
    const ticket = this.journal.ticket('discard', { change: changeId });
    if (!ticket.replay) {
      await workspace.discard(changeId);
      await this.#journalCall(ticket, 'discard', null, state.label);
    }
    state.discarded = true;
    this.emit({ type: 'change-discarded', changeId, label: state.label });
    return null;
  }

  // ---- the end of the run ----------------------------------------------------------------------

  /**
   * What the plain agents left in the shared worktree, as one candidate change like an
   * isolation: 'worktree' agent's: settled by #settleCandidates with the others. A resumed run
   * snapshots the same tree again and gets the same commit, so its journaled gate and proposal replay.
   */
  async #sharedCandidate(result: unknown): Promise<void> {
    // Untouched, the tree is the base: no git work at the end of a run of readers. A resume may
    // have restored the edits of agents it replays, so it always looks.
    if (!this.#sharedEdited && !this.options.resumed) return;
    let saved: Awaited<ReturnType<RunExecution['saveSharedWorktree']>>;
    try {
      saved = await this.saveSharedWorktree(true);
    } catch (error) {
      // The script's result stands; what the agents left stays in the worktree, unproposed.
      this.emit({ type: 'warn', message: `the edits the agents left in the run's working tree could not be made into a change: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` });
      return;
    }
    if (!saved) return;
    const summary = typeof result === 'string' && result.trim() !== '' ? `\n\n${result}` : '';
    const label = `${this.run.workflow}: the agents' edits`;
    this.changes.add(saved.id, {
      label,
      files: saved.files,
      // The run's agents made it together: its cost is the run's.
      costUsd: this.ceilings.spentUsd,
      gate: null,
      proposal: null,
      discarded: false,
      candidate: true,
      result: `The edits the agents of run ${this.run.id} (workflow ${this.run.workflow}) left in its working tree.${summary}`,
    });
    this.emit({ type: 'change-made', changeId: saved.id, label, files: saved.files.length, candidate: true });
  }

  /**
   * Changes left by isolation: 'worktree' agents that the script never gated, proposed or
   * discarded: gated and, when they pass, proposed (config `changes: propose`). Journaled like the
   * script's own calls, so a resume repeats none of it.
   */
  async #settleCandidates(): Promise<void> {
    if (this.options.unclaimedChanges === 'report') return;
    for (const [id, state] of this.changes.entries()) {
      if (!state.candidate || state.discarded || state.proposal || state.gate) continue;
      try {
        const verdict = await this.gate(id);
        // As fix() does: a change that fails the tests is not kept (the run lists its gate result).
        if (!verdict.passed) {
          await this.discard(id);
          continue;
        }
        const body = typeof state.result === 'string' ? state.result : JSON.stringify(state.result, null, 2);
        await this.propose(id, state.label, body, false, undefined);
      } catch (error) {
        // One candidate that cannot be gated (no test command, say) must not fail the finished run.
        this.emit({ type: 'warn', message: `change ${id} (${state.label}) was left unproposed: ${error instanceof Error ? error.message : String(error)}` });
      }
    }
  }

  /**
   * DESIGN §3: a change's ref lives until it is proposed or discarded. A proposed change lives on
   * in its branch, so its ref goes once the run has completed; a failed or stopped run keeps it,
   * since its resume may still propose from it.
   */
  async #releaseProposed(): Promise<void> {
    for (const [id, state] of this.changes.entries()) {
      if (state.proposal) await this.deps.workspace?.discard(id).catch(() => undefined);
    }
  }
}
