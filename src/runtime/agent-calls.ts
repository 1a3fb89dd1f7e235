// The one path for every model agent of a run: plain agents (in the run's shared worktree, which
// they may edit unless the run is read-only), read-only agents inside a change, and write agents
// (change(), isolation: 'worktree') whose result is snapshotted into a change.
import type { LimitFunction } from 'p-limit';
import type { RefusalError } from '../contracts/errors.ts';
import type { RunEvent } from '../contracts/events.ts';
import type { AgentOptions, AgentOutcome, AgentRunner, AgentTypeDefinition, AgentTypes, Change, ChangeWorkspace } from '../contracts/ports.ts';
import type { JournalEntry, RunRecord, Store } from '../contracts/store.ts';
import { zeroUsage } from '../contracts/usage.ts';
import type { Ceilings, Refusal } from './ceilings.ts';
import type { ChangeState, RunChanges } from './changes.ts';
import type { CallTicket, Journal } from './journal.ts';
import { costUsd, resolveModel, type ModelTable } from './pricing.ts';
import type { ProgressTracker } from './progress.ts';
import type { SpendGate } from './spend.ts';
import { storedTranscript } from './store-rows.ts';

const DEFAULT_PHASE = 'Run';

/** agent: a plain agent, or one inside a change (`cwd`); change: change()'s write agent; worktree-agent: agent() with isolation: 'worktree'. */
export type AgentKind = 'agent' | 'change' | 'worktree-agent';

/** One agent call, as its parts below need it. */
interface AgentCall {
  kind: AgentKind;
  prompt: string;
  opts: AgentOptions;
  phase: string;
  label: string;
  model: string;
  ticket: CallTicket;
  /** The repository's worktrees, when the agent writes or reads inside a change. */
  workspace: ChangeWorkspace | null;
  /** The change a read-only agent reads inside (`cwd`), which its cost adds to. */
  inside: ChangeState | null;
  cwdId: string | null;
  /** A plain agent that may edit the run's shared worktree (ExecuteOptions.agentsWrite). */
  shared: boolean;
  /** The change a write agent makes: stable across resumes, from the call's identity. */
  changeId: string | null;
  /** The agent type `opts.agentType` named. */
  type: AgentTypeDefinition | null;
}

/** What agents share with the rest of their run (engine.ts's RunExecution). */
export interface AgentRunContext {
  readonly deps: { store: Store; runner: AgentRunner; models: ModelTable; agentTypes?: AgentTypes };
  readonly options: { agentRoot: string; agentsWrite?: boolean };
  readonly run: RunRecord;
  readonly signal: AbortSignal | undefined;
  readonly journal: Journal;
  readonly ceilings: Ceilings;
  /** The run's spend caps across runs (limits.spend), when it counts against any scope. */
  readonly spend: SpendGate | null;
  readonly changes: RunChanges;
  readonly limit: LimitFunction;
  readonly tracker: ProgressTracker;
  emit(event: RunEvent): void;
  warnOnce(key: string, message: string): void;
  /** Snapshots the shared worktree, so a resumed run finds what its replayed agents edited. */
  saveSharedWorktree(): Promise<unknown>;
  /** A plain agent wrote in the shared worktree or ran a command there: the run's end must look at it. */
  noteSharedEdit(): void;
  requireWorkspace(callee: string): ChangeWorkspace;
  refusalError(callee: string, refusal: Refusal): RefusalError<unknown>;
}

export class AgentCalls {
  readonly #run: AgentRunContext;

  constructor(run: AgentRunContext) {
    this.#run = run;
  }

  /**
   * Runs one agent. `kind` decides its root and tools; `failure` 'throw' makes a failed agent an
   * error rather than null (fix() tells a failed write agent from one that changed nothing).
   */
  async run(kind: AgentKind, prompt: string, opts: AgentOptions, failure: 'null' | 'throw' = 'null'): Promise<unknown> {
    const call = this.#start(kind, prompt, opts);
    this.#run.deps.runner.notePrompt?.(prompt);
    const replay = call.ticket.replay;
    if (replay) return this.#replay(call, replay);
    const run = this.#run;
    run.emit({ type: 'agent-queued', phase: call.phase, label: call.label });
    const refusal = run.ceilings.stopRefusal() ?? run.ceilings.capRefusal();
    if (refusal) this.#refuse(call.phase, call.label, refusal);
    const { outcome, output, made, completed } = await this.#attempts(call);
    if (completed) {
      if (made) this.#changeMade(call.changeId!, made);
      return kind === 'worktree-agent' ? outcome.result : output;
    }
    if (call.changeId) await call.workspace!.close(call.changeId);
    if (outcome.status === 'schema-failed') {
      throw new Error(`agent "${call.label}" gave no answer matching its schema after 5 attempts: ${outcome.error ?? 'invalid result'}`);
    }
    if (failure === 'throw') throw new Error(`the agent "${call.label}" ${outcome.status === 'stopped' ? 'was stopped' : 'failed'}: ${outcome.error ?? 'no answer'}`);
    return null;
  }

  /**
   * The agent's attempts: one, and up to `opts.retries` more while it fails (an error, a schema it
   * never met, its timeoutMs), each recorded as the store records any agent and counted against
   * the agent cap. A stop or a cap ends the retries: what they refuse is refused to a new attempt too.
   */
  async #attempts(call: AgentCall): Promise<{ outcome: AgentOutcome; output: unknown; made: ChangeState | null; completed: JournalEntry | undefined }> {
    const run = this.#run;
    const retries = call.opts.retries ?? 0;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) run.emit({ type: 'agent-queued', phase: call.phase, label: call.label });
      // The limit covers the agent's model work only: its slot goes to the next agent while this
      // one's record is committed.
      const outcome = await run.limit(() => this.#runInSlot(call));
      if (call.inside) call.inside.costUsd += outcome.costUsd;
      // Stopped, but not by the user: a cap cut it short before its next model turn.
      const cutByCap = outcome.status === 'stopped' && !run.signal?.aborted ? run.ceilings.capRefusal() : null;
      if (cutByCap) run.ceilings.noteCap(cutByCap);
      // Before the journal entry: once the agent is journaled, a resume only replays it, so its
      // edits must already be in the snapshot the resumed run starts from.
      if (call.shared && outcome.wrote) run.noteSharedEdit();
      // A snapshot that fails (a file the agent made unreadable) costs the resume the agent's edits,
      // not the run the agent's paid answer.
      if (call.shared && outcome.wrote && outcome.status === 'done') {
        await run.saveSharedWorktree().catch((error: unknown) => run.warnOnce('shared-snapshot', `the run's working tree could not be saved for a resume (${errorText(error)}); a resumed run starts without the edits made since`));
      }
      const { output, made } = await this.#keepChange(call, outcome);
      const completed = await this.#record(call, outcome, output);
      const failed = outcome.status === 'error' || outcome.status === 'schema-failed' || (outcome.status === 'stopped' && outcome.timedOut === true);
      // Each attempt past the first is an agent the run starts: it counts against --max-agents too.
      if (completed || !failed || attempt >= retries || run.ceilings.stopRefusal() || run.ceilings.capRefusal() || run.ceilings.agentCapRefusal()) {
        return { outcome, output, made, completed };
      }
      run.emit({ type: 'warn', message: `agent "${call.label}" ${outcome.timedOut ? 'timed out' : 'failed'} (${outcome.error ?? outcome.status}): attempt ${attempt + 2} of ${retries + 1}` });
    }
  }

  /** Counts the call against the agent cap, checks where it runs, and takes its journal ticket. */
  #start(kind: AgentKind, prompt: string, opts: AgentOptions): AgentCall {
    const run = this.#run;
    const phase = opts.phase ?? run.tracker.currentPhase ?? DEFAULT_PHASE;
    const label = opts.label ?? summarisePrompt(prompt);
    // A bad argument, before the call counts as an agent.
    const type = opts.agentType === undefined ? null : this.#agentType(opts.agentType);
    const overCap = run.ceilings.agentCapRefusal();
    if (overCap) {
      run.emit({ type: 'agent-queued', phase, label });
      this.#refuse(phase, label, overCap);
    }
    const writes = kind !== 'agent';
    const workspace = writes || opts.cwd !== undefined ? run.requireWorkspace(kind === 'change' ? 'change()' : 'agent()') : null;
    const inside = opts.cwd !== undefined && !writes ? run.changes.require(opts.cwd?.id, 'agent(prompt, { cwd })') : null;
    const cwdId = inside ? String(opts.cwd!.id) : null;
    const shared = kind === 'agent' && opts.cwd === undefined && run.options.agentsWrite === true;
    // As in Claude Code: the call's model, else the type's, else the run's (`inherit`).
    const model = resolveModel(run.deps.models, opts.model ?? type?.model ?? run.run.options.model);
    // The framing and label/phase are display or runtime concerns: keep them out of the key so
    // cosmetic edits do not invalidate a resume.
    const ticket = run.journal.ticket(kind, {
      prompt,
      schema: opts.schema ?? null,
      model,
      effort: opts.effort ?? null,
      agentType: type ? definitionKey(type) : null,
      ...(kind === 'agent' ? { isolation: opts.isolation ?? null, cwd: cwdId } : {}),
    });
    // Stable across resumes: the call's identity, not the order calls happened to arrive in.
    const changeId = writes ? `c${ticket.key.slice(0, 10)}${ticket.occurrence > 0 ? `-${ticket.occurrence}` : ''}` : null;
    return { kind, prompt, opts, phase, label, model, ticket, workspace, inside, cwdId, shared, changeId, type };
  }

  /**
   * The definition `name` selects, or a TypeError thrown into the script before anything is paid
   * for: the known types, where they were looked for, and how to define one.
   */
  #agentType(name: string): AgentTypeDefinition {
    const run = this.#run;
    const found = run.deps.agentTypes?.resolve(name) ?? { error: `agent(): agentType '${name}' is not defined: this run has no agent types` };
    if ('error' in found) throw new TypeError(found.error);
    if (found.ignoredTools) {
      run.warnOnce(`agent-type-tools:${found.name}`, `agent type '${found.name}' (${found.source}): Foreman has no tool ${found.ignoredTools.join(', ')}; its agents run without ${found.ignoredTools.length === 1 ? 'it' : 'them'}`);
    }
    return found;
  }

  /** The one path for an agent that will not run: reported once (agent-refused), thrown into the script. */
  #refuse(phase: string, label: string, refusal: Refusal): never {
    const run = this.#run;
    if (refusal.cap) run.ceilings.noteCap(refusal);
    run.emit({ type: 'agent-refused', phase, label, cap: refusal.cap, reason: refusal.reason });
    throw run.refusalError('agent', refusal);
  }

  /** What a journaled agent gives the script on resume; a write agent's change is known again. */
  #replay(call: AgentCall, replay: JournalEntry): unknown {
    const run = this.#run;
    const usage = replay.usage ?? zeroUsage();
    run.ceilings.charge(usage, replay.costUsd);
    run.spend?.noteAgent(usage, replay.costUsd);
    if (call.inside) call.inside.costUsd += replay.costUsd;
    run.emit({ type: 'agent-queued', phase: call.phase, label: call.label });
    run.emit({ type: 'agent-finished', phase: call.phase, label: call.label, status: 'replayed', usage, costUsd: replay.costUsd, elapsedMs: 0 });
    const { kind } = call;
    const output = replay.output;
    if (kind === 'agent') return output;
    const change = (kind === 'change' ? output : (output as { change: Change | null }).change) as Change | null;
    if (change) {
      this.#changeMade(change.id, { label: call.label, files: change.files, costUsd: replay.costUsd, gate: null, proposal: null, discarded: false, candidate: kind === 'worktree-agent', result: change.result });
    }
    return kind === 'change' ? output : (output as { result: unknown }).result;
  }

  /** The agent's model work, holding one of the run's concurrency slots. */
  async #runInSlot(call: AgentCall): Promise<AgentOutcome> {
    const run = this.#run;
    const { phase, label } = call;
    // An agent refused here never started: the store has no record of it, and a resume runs it.
    const refusalLate = run.ceilings.stopRefusal() ?? run.ceilings.capRefusal();
    if (refusalLate) this.#refuse(phase, label, refusalLate);
    // Last, in the slot: the shared ledger as close to the agent's start as it can be read.
    const overSpend = run.spend?.capped ? await run.spend.admit() : null;
    if (overSpend) this.#refuse(phase, label, overSpend);
    try {
      return await this.#runAdmitted(call);
    } catch (error) {
      run.spend?.settle();
      throw error;
    }
  }

  /** The agent's model work, once every cap admitted it. */
  async #runAdmitted(call: AgentCall): Promise<AgentOutcome> {
    const run = this.#run;
    const { phase, label } = call;
    run.emit({ type: 'agent-started', phase, label });
    let root = run.options.agentRoot;
    if (call.changeId) root = await call.workspace!.open(call.changeId);
    else if (call.cwdId) root = await call.workspace!.checkout(call.cwdId);
    const models = run.deps.models;
    const { opts } = call;
    const timeout = opts.timeoutMs === undefined ? null : agentTimeout(opts.timeoutMs, run.signal);
    let ran: AgentOutcome;
    try {
      ran = await run.deps.runner.run({
        index: call.ticket.seq,
        prompt: call.prompt,
        model: call.model,
        schema: opts.schema,
        label,
        root,
        write: call.kind !== 'agent' || call.shared,
        ...(call.shared ? { shared: true } : {}),
        ...(call.type?.tools ? { tools: call.type.tools } : {}),
        ...(call.type?.systemPrompt ? { systemPrompt: call.type.systemPrompt } : {}),
        ...(call.type?.commands ? { commands: call.type.commands } : {}),
        signal: timeout?.signal ?? run.signal ?? new AbortController().signal,
        shouldStop: () => run.ceilings.stopReason() ?? run.ceilings.capRefusal()?.reason ?? null,
        onUsage: (usage, usedModel) => run.ceilings.charge(usage, costUsd(models, usedModel, usage)),
        ...(opts.effort === undefined ? {} : { effort: opts.effort }),
        ...(opts.maxTurns === undefined ? {} : { maxTurns: opts.maxTurns }),
        warn: (key, message) => run.warnOnce(key, message),
      });
    } finally {
      timeout?.clear();
    }
    // The agent's own timeout, not the run's stop: it resolves to null, as a stopped agent does.
    if (timeout?.fired() && ran.status !== 'done') ran = { ...ran, status: 'stopped', timedOut: true, error: `timed out after ${opts.timeoutMs} ms (timeoutMs)` };
    // Inside the slot, so "running" counts the agents holding one and never exceeds the
    // concurrency while finished agents' records are written.
    run.emit({
      type: 'agent-finished',
      phase,
      label,
      status: ran.status === 'done' ? 'done' : ran.status === 'stopped' ? 'stopped' : 'failed',
      usage: ran.usage,
      costUsd: ran.costUsd,
      elapsedMs: ran.elapsedMs,
      ...(ran.status === 'done' || !ran.error ? {} : { error: ran.error }),
    });
    return ran;
  }

  /** A write agent's work as a change: snapshotted when it finished and changed something, else closed. */
  async #keepChange(call: AgentCall, outcome: AgentOutcome): Promise<{ output: unknown; made: ChangeState | null }> {
    const { changeId, label, kind } = call;
    if (!changeId) return { output: outcome.result, made: null };
    const workspace = call.workspace!;
    const snapshot = outcome.status === 'done' ? await workspace.snapshot(changeId, `${label}\n\nForeman run ${this.#run.run.id}, change ${changeId}`) : null;
    if (snapshot?.leftOut) {
      this.#run.warnOnce(`protected:${changeId}`, `change "${label}": left out protected files its commands changed (${snapshot.leftOut.join('; ')}); agents may not change them`);
    }
    if (!snapshot) {
      await workspace.close(changeId);
      return { output: kind === 'change' ? null : { result: outcome.result, change: null }, made: null };
    }
    const made = { label, files: snapshot.files, costUsd: outcome.costUsd, gate: null, proposal: null, discarded: false, candidate: kind === 'worktree-agent', result: outcome.result };
    const change: Change = { id: changeId, label, result: outcome.result, files: snapshot.files, diff: snapshot.diff };
    return { output: kind === 'change' ? change : { result: outcome.result, change }, made };
  }

  /** Durable before the script sees the result: that is what makes resume exact. The journal entry, when it completed. */
  async #record(call: AgentCall, outcome: AgentOutcome, output: unknown): Promise<JournalEntry | undefined> {
    const run = this.#run;
    const { ticket, phase, label, kind } = call;
    const completed =
      outcome.status === 'done'
        ? { key: ticket.key, occurrence: ticket.occurrence, seq: ticket.seq, kind, output, usage: outcome.usage, costUsd: outcome.costUsd, phase, label }
        : undefined;
    // Its spend goes into the ledger with its record; until then the gate counts it as pending.
    const spend = run.spend?.charge(outcome.usage, outcome.costUsd);
    const recorded = run.deps.store.recordAgent(
      run.run.id,
      {
        key: ticket.key,
        occurrence: ticket.occurrence,
        label,
        phase,
        model: call.model,
        status: outcome.status,
        prompt: call.prompt,
        usage: outcome.usage,
        costUsd: outcome.costUsd,
        turns: outcome.turns,
        elapsedMs: outcome.elapsedMs,
        error: outcome.error ?? null,
        transcript: storedTranscript(outcome.transcript),
        finishedAt: new Date().toISOString(),
      },
      completed,
      spend,
    );
    await recorded.finally(() => run.spend?.settle());
    if (completed) run.journal.remember(completed);
    return completed;
  }

  #changeMade(id: string, state: ChangeState): void {
    this.#run.changes.add(id, state);
    this.#run.emit({ type: 'change-made', changeId: id, label: state.label, files: state.files.length, candidate: state.candidate });
  }
}

/**
 * The part of an agent type that decides what its agents do, for the journal key: editing a
 * definition's tools, model (through the resolved model) or prompt makes its calls new on resume;
 * its description does not. A built-in's prompt is Foreman's wording, free to improve.
 */
function definitionKey(type: AgentTypeDefinition): unknown {
  return { name: type.name, tools: type.tools ?? null, ...(type.commands ? { commands: type.commands } : {}), ...(type.source === 'built-in' ? {} : { prompt: type.systemPrompt }) };
}

function summarisePrompt(prompt: string): string {
  const line = prompt.trim().split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

/** An agent's own deadline: a signal that aborts at `ms` or when the run's does. */
function agentTimeout(ms: number, runSignal: AbortSignal | undefined): { signal: AbortSignal; fired: () => boolean; clear: () => void } {
  const controller = new AbortController();
  let fired = false;
  const timer = setTimeout(() => {
    fired = true;
    controller.abort(`timed out after ${ms} ms (timeoutMs)`);
  }, ms);
  const follow = (): void => controller.abort(runSignal?.reason);
  if (runSignal?.aborted) follow();
  else runSignal?.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    fired: () => fired,
    clear: () => {
      clearTimeout(timer);
      runSignal?.removeEventListener('abort', follow);
    },
  };
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
