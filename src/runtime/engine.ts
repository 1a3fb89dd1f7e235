// The run engine: runs one script in the sandbox and serves its host calls through the journal
// (replay), the ceilings (agent cap, tokens, USD) and one p-limit for agents.
import pLimit from 'p-limit';
import { Journal } from './journal.ts';
import { costUsd, resolveModel, type ModelTable } from './pricing.ts';
import { ProgressTracker, type RunSummary } from './progress.ts';
import { runInSandbox, type SandboxHost } from './sandbox.ts';
import type { RunEvent, RunListener } from './events.ts';
import type { RunRecord, RunStatus, Store } from './store.ts';
import { totalTokens, zeroUsage, type AgentOptions, type AgentRunner, type Usage } from './types.ts';

// Claude Code's agent types; others are accepted with a warning because a script written for a
// newer Claude Code should still run.
const KNOWN_AGENT_TYPES = new Set(['general-purpose', 'Explore', 'Plan', 'explore', 'plan']);
const DEFAULT_PHASE = 'Run';

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
}

export interface ExecuteOptions {
  run: RunRecord;
  script: { body: string; file: string };
  /** Directory read-only agents are confined to: the pristine checkout of the base commit. */
  agentRoot: string;
  resumed: boolean;
  signal?: AbortSignal;
}

export interface RunOutcome {
  runId: string;
  status: Exclude<RunStatus, 'running'>;
  result: unknown;
  error: string | null;
  summary: RunSummary;
}

/** Thrown into the script when a ceiling stops a new agent. */
export class CeilingError extends Error {}

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

  const stopReason = (): string | null => (signal?.aborted ? 'the run was stopped' : null);
  const ceilingReason = (): string | null => {
    if (limits.budgetTokens !== null && spentTokens >= limits.budgetTokens) {
      return `the token budget is spent (${spentTokens} of ${limits.budgetTokens} tokens): raise --budget-tokens or make the workflow smaller`;
    }
    if (limits.maxCostUsd !== null && spentUsd >= limits.maxCostUsd) {
      return `the cost cap is reached ($${spentUsd.toFixed(4)} of $${limits.maxCostUsd}): raise --max-cost-usd or make the workflow smaller`;
    }
    return null;
  };
  const charge = (usage: Usage, usd: number): void => {
    spentTokens += totalTokens(usage);
    spentUsd += usd;
  };

  async function callAgent(prompt: string, opts: AgentOptions): Promise<unknown> {
    agentCalls += 1;
    if (agentCalls > limits.maxAgents) {
      throw new CeilingError(
        `agent() was called ${agentCalls} times; a run may start at most ${limits.maxAgents} agents: split the work into several runs`,
      );
    }
    if (opts.agentType !== undefined && !KNOWN_AGENT_TYPES.has(opts.agentType) && !warned.has(opts.agentType)) {
      warned.add(opts.agentType);
      emit({ type: 'warn', message: `agentType '${opts.agentType}' is not one Foreman knows; the agent runs as a general-purpose read-only agent` });
    }
    if (opts.isolation === 'worktree' && !warned.has('isolation:worktree')) {
      warned.add('isolation:worktree');
      emit({ type: 'warn', message: "isolation: 'worktree' agents run read-only in this version: write agents arrive with verified fixes" });
    }
    const model = resolveModel(models, opts.model ?? limits.model);
    const phase = opts.phase ?? tracker.currentPhase ?? DEFAULT_PHASE;
    const label = opts.label ?? summarisePrompt(prompt);
    // The framing and label/phase are display or runtime concerns: keep them out of the key so
    // cosmetic edits do not invalidate a resume.
    const ticket = journal.ticket('agent', {
      prompt,
      schema: opts.schema ?? null,
      model,
      effort: opts.effort ?? null,
      agentType: opts.agentType ?? null,
      isolation: opts.isolation ?? null,
    });

    if (ticket.replay) {
      const usage = ticket.replay.usage ?? zeroUsage();
      charge(usage, ticket.replay.costUsd);
      emit({ type: 'agent-queued', phase, label });
      emit({ type: 'agent-finished', phase, label, status: 'replayed', usage, costUsd: ticket.replay.costUsd, elapsedMs: 0 });
      return ticket.replay.output;
    }

    const refuse = stopReason() ?? ceilingReason();
    if (refuse) throw new CeilingError(`agent() refused: ${refuse}`);

    emit({ type: 'agent-queued', phase, label });
    // The limit covers the agent's model work only: its slot goes to the next agent while this
    // one's record is committed.
    const outcome = await limit(async () => {
      const refuseLate = stopReason() ?? ceilingReason();
      if (refuseLate) {
        emit({ type: 'agent-started', phase, label });
        emit({ type: 'agent-finished', phase, label, status: 'failed', usage: zeroUsage(), costUsd: 0, elapsedMs: 0, error: refuseLate });
        throw new CeilingError(`agent() refused: ${refuseLate}`);
      }
      emit({ type: 'agent-started', phase, label });
      return runner.run({
        index: ticket.seq,
        prompt,
        model,
        schema: opts.schema,
        label,
        root: options.agentRoot,
        signal: signal ?? new AbortController().signal,
        shouldStop: () => stopReason() ?? ceilingReason(),
        onUsage: (usage, usedModel) => charge(usage, costUsd(models, usedModel, usage)),
      });
    });
    const completed =
      outcome.status === 'done'
        ? { key: ticket.key, occurrence: ticket.occurrence, seq: ticket.seq, kind: 'agent', output: outcome.result, usage: outcome.usage, costUsd: outcome.costUsd, phase, label }
        : undefined;
    // Durable before the script sees the result: that is what makes resume exact.
    const agentNo = await store.recordAgent(
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
    const finished = { phase, label, usage: outcome.usage, costUsd: outcome.costUsd, elapsedMs: outcome.elapsedMs, agentNo };
    if (completed) {
      journal.remember(completed);
      emit({ type: 'agent-finished', status: 'done', ...finished });
      return outcome.result;
    }
    emit({ type: 'agent-finished', status: 'failed', error: outcome.error, ...finished });
    if (outcome.status === 'schema-failed') {
      throw new Error(`agent "${label}" gave no answer matching its schema after 5 attempts: ${outcome.error ?? 'invalid result'}`);
    }
    return null;
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
      const p = payload as { prompt?: unknown; opts?: AgentOptions; name?: unknown };
      if (kind === 'agent') return callAgent(String(p.prompt), p.opts ?? {});
      if (kind === 'workflow') return callWorkflow(String(p.name));
      throw new Error(`unknown host call ${kind}`);
    },
    log: (message) => emit({ type: 'log', message }),
    warn: (message) => emit({ type: 'warn', message }),
    phase: (title) => emit({ type: 'phase', title }),
    budgetSpent: () => spentTokens,
  };

  emit({ type: 'run-started', runId: run.id, workflow: run.workflow, baseSha: run.baseSha, resumed: options.resumed, replayable: journal.completedCount });

  let status: RunOutcome['status'];
  let result: unknown = null;
  let error: string | null = null;
  try {
    result = await runInSandbox(
      options.script,
      { args: run.args, budgetTotal: limits.budgetTokens },
      host,
      { memoryLimitMb: limits.memoryLimitMb, cpuLimitMs: limits.cpuLimitMs, wallLimitMs: limits.wallLimitMs },
    );
    status = signal?.aborted ? 'stopped' : 'completed';
  } catch (cause) {
    status = signal?.aborted ? 'stopped' : 'failed';
    error = cause instanceof Error ? cause.message : String(cause);
  }
  if (status === 'stopped') error = 'the run was stopped; `foreman resume ' + run.id + '` continues it';

  const summary = tracker.summary();
  await store.finishRun(run.id, { status, result, error, summary, finishedAt: new Date().toISOString() });
  emit({ type: 'run-finished', status, ...(error ? { error } : {}) });
  return { runId: run.id, status, result, error, summary };
}

function summarisePrompt(prompt: string): string {
  const line = prompt.trim().split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}
