// The run engine: runs one script in the sandbox and serves its host calls through the journal
// (replay), the ceilings (agent cap, tokens, USD) and one p-limit for agents.
import pLimit from 'p-limit';
import { costUsd, resolveModel, type ModelTable } from './pricing.ts';
import { ProgressTracker, type RunSummary } from './progress.ts';
import { RefusalError, runInSandbox, type SandboxHost } from './sandbox.ts';
import { agentOptionsSchema, changeOptionsSchema, checkedOptions } from './script-api-args.ts';
import type { CapKind, RunEvent, RunListener } from './events.ts';
import type { RunRecord, RunStatus, Store } from './store.ts';
import { Journal, type CallTicket } from './journal.ts';
import {
  totalTokens,
  zeroUsage,
  type AgentOptions,
  type AgentRunner,
  type Change,
  type ChangeFile,
  type ChangeWorkspace,
  type GateResult,
  type Proposal,
  type ProposalVote,
  type Usage,
} from './types.ts';

// Claude Code's agent types; others are accepted with a warning because a script written for a
// newer Claude Code should still run.
const KNOWN_AGENT_TYPES = new Set(['general-purpose', 'Explore', 'Plan', 'explore', 'plan']);
const DEFAULT_PHASE = 'Run';
/**
 * After a stop ends the script, how long the host calls it left (aborted agents, a gate being
 * killed) get to record what they did before the run is finished.
 */
const STOP_SETTLE_MS = 10_000;

export interface NestedWorkflow {
  body: string;
  file: string;
}

export interface EngineDeps {
  store: Store;
  runner: AgentRunner;
  models: ModelTable;
  /** Finds and validates a workflow for `workflow(name)`. */
  loadNested: (name: string) => Promise<NestedWorkflow>;
  listener?: RunListener;
  /** Worktrees, gates and proposals for change(), gate(), propose(), discard() and fix(). */
  workspace?: ChangeWorkspace;
}

export interface ExecuteOptions {
  run: RunRecord;
  script: { body: string; file: string };
  /** Directory read-only agents are confined to: the pristine checkout of the base commit. */
  agentRoot: string;
  resumed: boolean;
  signal?: AbortSignal;
  /** What happens to changes isolation: 'worktree' agents leave unclaimed (config `changes`). */
  unclaimedChanges?: 'propose' | 'report';
  /**
   * How this run's user resumes it, raising `cap` first when one ended it: each front door has its
   * own way (a CLI command, the App's config and Resume button, the Action's inputs). The engine
   * only says that resuming runs the unfinished agents.
   */
  howToResume?: ResumeAdvice;
}

/** A sentence telling the user how to resume `runId` (after raising `cap`, when one ended it). */
export type ResumeAdvice = (runId: string, cap: CapKind | null) => string;

/** The advice of a door that names none. */
const NEUTRAL_RESUME: ResumeAdvice = (_runId, cap) => (cap ? `raise the cap (${RAISE[cap].config}) and resume the run` : 'resuming the run continues it');

export interface RunOutcome {
  runId: string;
  status: Exclude<RunStatus, 'running'>;
  result: unknown;
  error: string | null;
  summary: RunSummary;
}

/** Thrown into the script when a ceiling or a stop refuses a new agent (or gate, or proposal). */
export class CeilingError extends RefusalError {}

/** Why a host call was refused: a cap (which one, and how to raise it) or the run's stop (cap null). */
interface Refusal {
  cap: CapKind | null;
  reason: string;
  /** The CLI flag (with its usage placeholder) and config key that raise the cap. */
  raise?: { flag: string; placeholder: string; config: string };
}

/** The CLI flag and config key of each cap: the front doors name them in their resume advice. */
export const RAISE: Record<CapKind, NonNullable<Refusal['raise']>> = {
  tokens: { flag: '--budget-tokens', placeholder: 'N', config: 'limits.budgetTokens' },
  usd: { flag: '--max-cost-usd', placeholder: 'X', config: 'limits.maxCostUsd' },
  agents: { flag: '--max-agents', placeholder: 'N', config: 'limits.agentsPerRun' },
};

export async function executeRun(deps: EngineDeps, options: ExecuteOptions): Promise<RunOutcome> {
  const { store, runner, models } = deps;
  const { run, signal } = options;
  const limits = run.options;
  const tracker = new ProgressTracker();
  const emit = (event: RunEvent): void => {
    tracker.apply(event);
    deps.listener?.(event);
  };
  const journal = new Journal(await store.loadJournal(run.id));
  const limit = pLimit(limits.concurrency);
  // Each warning once per run, not once per agent of a 1,000-agent fan-out.
  const warned = new Set<string>();
  let agentCalls = 0;
  let spentTokens = 0;
  let spentUsd = 0;
  // The run hit a cap: the latest cap that refused or cut short an agent, and how many agents it
  // kept from finishing. Set even when the script caught the throw: the run is not complete.
  let capHit: Refusal | null = null;
  let cappedAgents = 0;

  const stopRefusal = (): Refusal | null => (signal?.aborted ? { cap: null, reason: 'the run was stopped' } : null);
  const stopReason = (): string | null => stopRefusal()?.reason ?? null;
  const capRefusal = (): Refusal | null => {
    if (limits.budgetTokens !== null && spentTokens >= limits.budgetTokens) {
      return { cap: 'tokens', reason: `the token budget is spent (${spentTokens} of ${limits.budgetTokens} tokens)`, raise: RAISE.tokens };
    }
    if (limits.maxCostUsd !== null && spentUsd >= limits.maxCostUsd) {
      return { cap: 'usd', reason: `the cost cap is reached ($${spentUsd.toFixed(4)} of $${limits.maxCostUsd})`, raise: RAISE.usd };
    }
    return null;
  };
  /** What the script's error says: the reason and, for a cap, how to raise it. */
  const refusalText = (refusal: Refusal): string =>
    refusal.raise ? `${refusal.reason}: raise ${refusal.raise.flag} (config ${refusal.raise.config}) and resume the run, or make the workflow smaller` : refusal.reason;
  const noteCap = (refusal: Refusal): void => {
    capHit = refusal;
    cappedAgents += 1;
  };
  const charge = (usage: Usage, usd: number): void => {
    spentTokens += totalTokens(usage);
    spentUsd += usd;
  };

  // ---- agents: read-only, inside a change, and write agents -------------------------------------

  interface ChangeState {
    label: string;
    files: ChangeFile[];
    costUsd: number;
    gate: GateResult | null;
    proposal: Proposal | null;
    discarded: boolean;
    /** Left by an isolation: 'worktree' agent. */
    candidate: boolean;
    /** The candidate agent's final answer, the body of its proposal. */
    result: unknown;
  }
  const changes = new Map<string, ChangeState>();

  const requireWorkspace = (callee: string): ChangeWorkspace => {
    if (!deps.workspace) throw new Error(`${callee} needs a repository workspace, and this run has none`);
    return deps.workspace;
  };
  const requireChange = (id: unknown, callee: string): ChangeState => {
    const state = typeof id === 'string' ? changes.get(id) : undefined;
    if (!state) throw new Error(`${callee}: ${String(id)} is not a change of this run: pass the object change() returned`);
    if (state.discarded) throw new Error(`${callee}: change ${String(id)} (${state.label}) was discarded`);
    return state;
  };
  const changeMade = (id: string, state: ChangeState): void => {
    changes.set(id, state);
    emit({ type: 'change-made', changeId: id, label: state.label, files: state.files.length, candidate: state.candidate });
  };

  type AgentKind = 'agent' | 'change' | 'worktree-agent';

  function agentCapRefusal(): Refusal | null {
    agentCalls += 1;
    if (agentCalls <= limits.maxAgents) return null;
    return { cap: 'agents', reason: `agent() was called ${agentCalls} times; a run may start at most ${limits.maxAgents} agents`, raise: RAISE.agents };
  }

  /** The one path for an agent that will not run: reported once (agent-refused), thrown into the script. */
  function refuseAgent(phase: string, label: string, refusal: Refusal): never {
    if (refusal.cap) noteCap(refusal);
    emit({ type: 'agent-refused', phase, label, cap: refusal.cap, reason: refusal.reason });
    throw new CeilingError(`agent() refused: ${refusalText(refusal)}`);
  }

  function warnOnce(key: string, message: string): void {
    if (warned.has(key)) return;
    warned.add(key);
    emit({ type: 'warn', message });
  }

  /**
   * The one path for every model agent. `kind` decides its root and tools: a read-only agent reads
   * the pristine checkout (or a change's worktree with `cwd`); `change` and isolation: 'worktree'
   * agents write in a fresh worktree whose result is snapshotted into a change.
   */
  async function runModelAgent(kind: AgentKind, prompt: string, opts: AgentOptions, failure: 'null' | 'throw' = 'null'): Promise<unknown> {
    const phase = opts.phase ?? tracker.currentPhase ?? DEFAULT_PHASE;
    const label = opts.label ?? summarisePrompt(prompt);
    const overCap = agentCapRefusal();
    if (overCap) {
      emit({ type: 'agent-queued', phase, label });
      refuseAgent(phase, label, overCap);
    }
    if (opts.agentType !== undefined && !KNOWN_AGENT_TYPES.has(opts.agentType)) {
      warnOnce(opts.agentType, `agentType '${opts.agentType}' is not one Foreman knows; the agent runs as a general-purpose agent`);
    }
    const writes = kind !== 'agent';
    const workspace = writes || opts.cwd !== undefined ? requireWorkspace(kind === 'change' ? 'change()' : 'agent()') : null;
    const inside = opts.cwd !== undefined && !writes ? requireChange(opts.cwd?.id, 'agent(prompt, { cwd })') : null;
    const cwdId = inside ? String(opts.cwd!.id) : null;
    const model = resolveModel(models, opts.model ?? limits.model);
    // The framing and label/phase are display or runtime concerns: keep them out of the key so
    // cosmetic edits do not invalidate a resume.
    const ticket = journal.ticket(kind, {
      prompt,
      schema: opts.schema ?? null,
      model,
      effort: opts.effort ?? null,
      agentType: opts.agentType ?? null,
      ...(kind === 'agent' ? { isolation: opts.isolation ?? null, cwd: cwdId } : {}),
    });
    // Stable across resumes: the call's identity, not the order calls happened to arrive in.
    const changeId = writes ? `c${ticket.key.slice(0, 10)}${ticket.occurrence > 0 ? `-${ticket.occurrence}` : ''}` : null;

    if (ticket.replay) {
      const usage = ticket.replay.usage ?? zeroUsage();
      charge(usage, ticket.replay.costUsd);
      if (inside) inside.costUsd += ticket.replay.costUsd;
      emit({ type: 'agent-queued', phase, label });
      emit({ type: 'agent-finished', phase, label, status: 'replayed', usage, costUsd: ticket.replay.costUsd, elapsedMs: 0 });
      return replayWriteAgent(kind, ticket.replay.output, ticket.replay.costUsd, label);
    }

    emit({ type: 'agent-queued', phase, label });
    const refusal = stopRefusal() ?? capRefusal();
    if (refusal) refuseAgent(phase, label, refusal);
    // The limit covers the agent's model work only: its slot goes to the next agent while this
    // one's record is committed.
    const outcome = await limit(async () => {
      // An agent refused here never started: the store has no record of it, and a resume runs it.
      const refusalLate = stopRefusal() ?? capRefusal();
      if (refusalLate) refuseAgent(phase, label, refusalLate);
      emit({ type: 'agent-started', phase, label });
      let root = options.agentRoot;
      if (changeId) root = await workspace!.open(changeId);
      else if (cwdId) root = await workspace!.checkout(cwdId);
      const ran = await runner.run({
        index: ticket.seq,
        prompt,
        model,
        schema: opts.schema,
        label,
        root,
        write: writes,
        signal: signal ?? new AbortController().signal,
        shouldStop: () => stopReason() ?? capRefusal()?.reason ?? null,
        onUsage: (usage, usedModel) => charge(usage, costUsd(models, usedModel, usage)),
      });
      // Inside the slot, so "running" counts the agents holding one and never exceeds the
      // concurrency while finished agents' records are written.
      emit({
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
    });
    if (inside) inside.costUsd += outcome.costUsd;
    // Stopped, but not by the user: a cap cut it short before its next model turn.
    const cutByCap = outcome.status === 'stopped' && !signal?.aborted ? capRefusal() : null;
    if (cutByCap) noteCap(cutByCap);

    let output: unknown = outcome.result;
    let made: ChangeState | null = null;
    if (changeId) {
      const snapshot = outcome.status === 'done' ? await workspace!.snapshot(changeId, `${label}\n\nForeman run ${run.id}, change ${changeId}`) : null;
      if (snapshot?.leftOut) {
        warnOnce(`protected:${changeId}`, `change "${label}": left out protected files its commands changed (${snapshot.leftOut.join('; ')}); agents may not change them`);
      }
      if (snapshot) {
        made = { label, files: snapshot.files, costUsd: outcome.costUsd, gate: null, proposal: null, discarded: false, candidate: kind === 'worktree-agent', result: outcome.result };
        const change: Change = { id: changeId, label, result: outcome.result, files: snapshot.files, diff: snapshot.diff };
        output = kind === 'change' ? change : { result: outcome.result, change };
      } else {
        await workspace!.close(changeId);
        output = kind === 'change' ? null : { result: outcome.result, change: null };
      }
    }
    const completed =
      outcome.status === 'done'
        ? { key: ticket.key, occurrence: ticket.occurrence, seq: ticket.seq, kind, output, usage: outcome.usage, costUsd: outcome.costUsd, phase, label }
        : undefined;
    // Durable before the script sees the result: that is what makes resume exact.
    await store.recordAgent(
      run.id,
      {
        key: ticket.key,
        occurrence: ticket.occurrence,
        label,
        phase,
        model,
        status: outcome.status,
        prompt,
        usage: outcome.usage,
        costUsd: outcome.costUsd,
        turns: outcome.turns,
        elapsedMs: outcome.elapsedMs,
        error: outcome.error ?? null,
        transcript: outcome.transcript,
        finishedAt: new Date().toISOString(),
      },
      completed,
    );
    if (completed) {
      journal.remember(completed);
      if (made) changeMade(changeId!, made);
      return kind === 'worktree-agent' ? outcome.result : output;
    }
    if (changeId) await workspace!.close(changeId);
    if (outcome.status === 'schema-failed') {
      throw new Error(`agent "${label}" gave no answer matching its schema after 5 attempts: ${outcome.error ?? 'invalid result'}`);
    }
    if (failure === 'throw') throw new Error(`the agent "${label}" ${outcome.status === 'stopped' ? 'was stopped' : 'failed'}: ${outcome.error ?? 'no answer'}`);
    return null;
  }

  /** What a journaled write agent gives the script on resume; its change is known again. */
  function replayWriteAgent(kind: AgentKind, output: unknown, cost: number, label: string): unknown {
    if (kind === 'agent') return output;
    const change = (kind === 'change' ? output : (output as { change: Change | null }).change) as Change | null;
    if (change) {
      changeMade(change.id, { label, files: change.files, costUsd: cost, gate: null, proposal: null, discarded: false, candidate: kind === 'worktree-agent', result: change.result });
    }
    return kind === 'change' ? output : (output as { result: unknown }).result;
  }

  /**
   * DESIGN §3: a change's ref lives until it is proposed or discarded. A proposed change lives on
   * in its branch, so its ref goes once the run has completed; a failed or stopped run keeps it,
   * since its resume may still propose from it.
   */
  async function releaseProposed(): Promise<void> {
    for (const [id, state] of changes) {
      if (state.proposal) await deps.workspace?.discard(id).catch(() => undefined);
    }
  }

  // ---- gate, propose, discard ------------------------------------------------------------------

  /** Journals a completed non-agent call before the script sees it. */
  async function journalCall(ticket: CallTicket, kind: string, output: unknown, label: string): Promise<void> {
    const entry = { key: ticket.key, occurrence: ticket.occurrence, seq: ticket.seq, kind, output, usage: null, costUsd: 0, phase: null, label };
    await store.appendJournal(run.id, entry);
    journal.remember(entry);
  }

  async function callGate(id: unknown): Promise<GateResult> {
    const workspace = requireWorkspace('gate()');
    const state = requireChange(id, 'gate(change)');
    const changeId = String(id);
    const ticket = journal.ticket('gate', { change: changeId });
    let result = ticket.replay?.output as GateResult | undefined;
    if (!result) {
      const refuse = stopReason();
      if (refuse) throw new CeilingError(`gate() refused: ${refuse}`);
      emit({ type: 'gate-started', changeId, label: state.label });
      result = await workspace.gate(changeId, signal ?? new AbortController().signal);
      if (signal?.aborted) throw new CeilingError('gate() stopped: the run was stopped');
      await journalCall(ticket, 'gate', result, state.label);
    }
    state.gate = result;
    const failed = result.steps.find((step) => step.exitCode !== 0);
    const durationMs = result.steps.reduce((total, step) => total + step.durationMs, 0);
    emit({ type: 'gate-finished', changeId, label: state.label, passed: result.passed, durationMs, ...(failed ? { failedStep: failed.name } : {}) });
    return result;
  }

  async function callPropose(id: unknown, title: string, body: string, draft: boolean, votes: ProposalVote[] | undefined): Promise<Proposal> {
    const workspace = requireWorkspace('propose()');
    const state = requireChange(id, 'propose(change)');
    const changeId = String(id);
    if (!state.gate?.passed) {
      throw new Error(
        `propose(): change ${changeId} (${state.label}) has ${state.gate ? 'failed' : 'not been through'} gate(): ` +
          'only a change whose gate passed can be proposed; call gate(change) and check .passed first',
      );
    }
    const ticket = journal.ticket('propose', { change: changeId, title, body, draft, ...(votes ? { votes } : {}) });
    let proposal = ticket.replay?.output as Proposal | undefined;
    if (!proposal) {
      const refuse = stopReason();
      if (refuse) throw new CeilingError(`propose() refused: ${refuse}`);
      proposal = await workspace.propose({ changeId, label: state.label, title, body, draft, gate: state.gate, costUsd: state.costUsd, files: state.files, ...(votes ? { votes } : {}) });
      await journalCall(ticket, 'propose', proposal, state.label);
    }
    state.proposal = proposal;
    emit({ type: 'change-proposed', changeId, label: state.label, branch: proposal.branch, url: proposal.pr?.url ?? null, created: proposal.created });
    return proposal;
  }

  async function callDiscard(id: unknown): Promise<null> {
    const workspace = requireWorkspace('discard()');
    const state = requireChange(id, 'discard(change)');
    const changeId = String(id);
    if (state.proposal) throw new Error(`discard(): change ${changeId} (${state.label}) was already proposed on ${state.proposal.branch}`);
    const ticket = journal.ticket('discard', { change: changeId });
    if (!ticket.replay) {
      await workspace.discard(changeId);
      await journalCall(ticket, 'discard', null, state.label);
    }
    state.discarded = true;
    emit({ type: 'change-discarded', changeId, label: state.label });
    return null;
  }

  /**
   * Changes left by isolation: 'worktree' agents that the script never gated, proposed or
   * discarded: gated and, when they pass, proposed (config `changes: propose`). Journaled like the
   * script's own calls, so a resume repeats none of it.
   */
  async function settleCandidates(): Promise<void> {
    if (options.unclaimedChanges === 'report') return;
    for (const [id, state] of changes) {
      if (!state.candidate || state.discarded || state.proposal || state.gate) continue;
      try {
        const verdict = await callGate(id);
        // As fix() does: a change that fails the tests is not kept (the run lists its gate result).
        if (!verdict.passed) {
          await callDiscard(id);
          continue;
        }
        const body = typeof state.result === 'string' ? state.result : JSON.stringify(state.result, null, 2);
        await callPropose(id, state.label, body, false, undefined);
      } catch (error) {
        // One candidate that cannot be gated (no test command, say) must not fail the finished run.
        emit({ type: 'warn', message: `change ${id} (${state.label}) was left unproposed: ${error instanceof Error ? error.message : String(error)}` });
      }
    }
  }

  async function callWorkflow(name: string): Promise<NestedWorkflow> {
    const ticket = journal.ticket('workflow', { name });
    if (ticket.replay) return ticket.replay.output as NestedWorkflow;
    const nested = await deps.loadNested(name);
    const entry = { key: ticket.key, occurrence: ticket.occurrence, seq: ticket.seq, kind: 'workflow', output: nested, usage: null, costUsd: 0, phase: null, label: name };
    await store.appendJournal(run.id, entry);
    journal.remember(entry);
    return nested;
  }

  const host: SandboxHost = {
    async call(kind, payload) {
      const p = payload as { prompt?: unknown; opts?: unknown; name?: unknown; failure?: unknown };
      if (kind === 'agent') {
        const opts = checkedOptions('agent', agentOptionsSchema, p.opts);
        if (opts.isolation === 'worktree' && !deps.workspace) {
          warnOnce('isolation:worktree', "isolation: 'worktree' agents run read-only here: this run has no repository workspace");
        }
        return runModelAgent(opts.isolation === 'worktree' && deps.workspace ? 'worktree-agent' : 'agent', String(p.prompt), opts);
      }
      // fix() asks for failures as errors, to tell a failed write agent from one that changed nothing.
      if (kind === 'change') return runModelAgent('change', String(p.prompt), checkedOptions('change', changeOptionsSchema, p.opts), p.failure === 'throw' ? 'throw' : 'null');
      if (kind === 'workflow') return callWorkflow(String(p.name));
      const q = payload as { change?: unknown; title?: unknown; body?: unknown; draft?: unknown; votes?: unknown };
      if (kind === 'gate') return callGate(q.change);
      if (kind === 'propose') return callPropose(q.change, String(q.title), String(q.body ?? ''), q.draft === true, proposalVotes(q.votes));
      if (kind === 'discard') return callDiscard(q.change);
      throw new Error(`unknown host call ${kind}`);
    },
    log: (message) => emit({ type: 'log', message }),
    warn: (message) => emit({ type: 'warn', message }),
    phase: (title) => emit({ type: 'phase', title }),
    budgetSpent: () => spentTokens,
  };
  // Host calls still running when the script ends; a stop waits for them to record (see below).
  const inFlight = new Set<Promise<unknown>>();
  const trackedHost: SandboxHost = {
    ...host,
    call(kind, payload) {
      const call = host.call(kind, payload);
      inFlight.add(call);
      const forget = (): void => void inFlight.delete(call);
      call.then(forget, forget);
      return call;
    },
  };

  emit({ type: 'run-started', runId: run.id, workflow: run.workflow, baseSha: run.baseSha, resumed: options.resumed, replayable: journal.completedCount });
  // While the sandbox starts, so the script's first agents find their connections open.
  runner.prepare?.(limits.concurrency);

  let status: RunOutcome['status'];
  let result: unknown = null;
  let error: string | null = null;
  try {
    result = await runInSandbox(
      options.script,
      { args: run.args, budgetTotal: limits.budgetTokens },
      trackedHost,
      { memoryLimitMb: limits.memoryLimitMb, cpuLimitMs: limits.cpuLimitMs, wallLimitMs: limits.wallLimitMs },
      signal,
    );
    if (!signal?.aborted) await settleCandidates();
    status = signal?.aborted ? 'stopped' : capHit ? 'budget-exhausted' : 'completed';
    if (status === 'completed') await releaseProposed();
  } catch (cause) {
    status = signal?.aborted ? 'stopped' : capHit ? 'budget-exhausted' : 'failed';
    error = cause instanceof Error ? cause.message : String(cause);
  }
  // A stop ends the script at once, while its agents are still being aborted: what they did is
  // recorded before the run is marked stopped, so the resume knows it. Bounded, for a call that
  // ignores the stop.
  if (signal?.aborted && inFlight.size > 0) {
    await Promise.race([Promise.allSettled(inFlight), new Promise((resolve) => setTimeout(resolve, STOP_SETTLE_MS).unref())]);
  }
  const howToResume = options.howToResume ?? NEUTRAL_RESUME;
  if (status === 'stopped') error = `the run was stopped; ${howToResume(run.id, null)}`;
  if (status === 'budget-exhausted') {
    // Agents already running when the cap was reached add to the spend: say what it ended at.
    const cap = capHit!.cap === 'agents' ? capHit! : (capRefusal() ?? capHit!);
    error = capMessage(howToResume(run.id, cap.cap), cap, cappedAgents, error);
  }

  const summary = tracker.summary();
  await store.finishRun(run.id, { status, result, error, summary, finishedAt: new Date().toISOString() });
  emit({ type: 'run-finished', status, ...(error ? { error } : {}) });
  return { runId: run.id, status, result, error, summary };
}

/**
 * The one message of a run a cap ended: which cap, how many agents it kept from finishing, and the
 * resume that raises it. A script error that was not the refusal itself follows, since it may be a
 * consequence (a null where an agent's answer was expected) or a bug of its own.
 */
function capMessage(advice: string, cap: Refusal, agents: number, scriptError: string | null): string {
  const kept = `${agents} agent${agents === 1 ? '' : 's'} did not run or finish`;
  const resume = `${advice}: only the agents that did not finish run again`;
  const after = scriptError && !scriptError.includes('agent() refused: ') ? `; the script then stopped with: ${scriptError}` : '';
  return `${cap.reason}: ${kept}; ${resume}${after}`;
}

/** The prelude sends votes already checked; anything else from the sandbox is refused. */
function proposalVotes(votes: unknown): ProposalVote[] | undefined {
  if (votes === undefined) return undefined;
  const valid = Array.isArray(votes) && votes.every((v) => typeof v?.accepted === 'boolean' && typeof v?.reason === 'string');
  if (!valid) throw new TypeError('propose(): votes must be [{ accepted, reason }]');
  return (votes as ProposalVote[]).map(({ accepted, reason }) => ({ accepted, reason }));
}

function summarisePrompt(prompt: string): string {
  const line = prompt.trim().split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}
