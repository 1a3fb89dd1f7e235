// How a stored row reads back as the store's records: SQLite and PostgreSQL keep the same columns,
// with JSON values as text, so both stores read them alike.
import { MAX_CHANGE_BUNDLE_BYTES, oversizedBundleError, type AgentRecord, type ChangeBundle, type JournalEntry, type RunRecord, type RunRevision, type SpendTotals } from '../contracts/store.ts';

export type Row = Record<string, any>;

export const json = (value: unknown): string => JSON.stringify(value ?? null);

const parse = (text: unknown): any => (typeof text === 'string' ? JSON.parse(text) : null);

export function toRun(row: Row): RunRecord {
  return {
    id: row.id,
    workflow: row.workflow,
    origin: row.origin,
    file: row.file,
    source: row.source,
    args: parse(row.args),
    repoDir: row.repo_dir,
    baseRef: row.base_ref,
    baseSha: row.base_sha,
    options: parse(row.options),
    status: row.status,
    pid: row.pid ?? null,
    // Only a shared store has the column: SQLite's runs are one host's.
    ...('host' in row ? { host: row.host ?? null } : {}),
    startedAt: row.started_at,
    finishedAt: row.finished_at ?? null,
    result: parse(row.result),
    error: row.error ?? null,
    summary: parse(row.summary),
  };
}

/** The agents table's columns but the transcript, as listAgents reads them. */
export const AGENT_LIST_COLUMNS = 'no, key, occurrence, label, phase, model, status, prompt, usage, cost_usd, turns, elapsed_ms, error, finished_at';

export function toAgent(row: Row): AgentRecord {
  return {
    no: row.no,
    key: row.key,
    occurrence: row.occurrence,
    label: row.label,
    phase: row.phase,
    model: row.model,
    status: row.status,
    prompt: row.prompt,
    usage: parse(row.usage),
    costUsd: row.cost_usd,
    turns: row.turns,
    // PostgreSQL returns a BIGINT as a string.
    elapsedMs: Number(row.elapsed_ms),
    error: row.error,
    transcript: 'transcript' in row ? withPrompt(parse(row.transcript), row.prompt) : null,
    finishedAt: row.finished_at,
  };
}

/**
 * An agent's transcript as the store keeps it: without its prompt, which the agent's row holds
 * already (a fan-out's 24 k-character preamble was written, posted to the writer thread and kept
 * twice per agent). Read back, the prompt is in its place again.
 */
export function storedTranscript(transcript: { system: string; prompt: string }): object {
  const { system, prompt: _, ...rest } = transcript;
  return { system, [PROMPT_IN_ROW]: true, ...rest };
}

/** Marks a stored transcript whose prompt is the row's: transcripts stored before kept their own. */
const PROMPT_IN_ROW = 'promptInRow';

function withPrompt(transcript: unknown, prompt: string): unknown {
  if (!transcript || typeof transcript !== 'object' || !(PROMPT_IN_ROW in transcript)) return transcript;
  const { system, [PROMPT_IN_ROW]: _, ...rest } = transcript as { system?: unknown; [PROMPT_IN_ROW]: unknown };
  return { system, prompt, ...rest };
}

export function toJournalEntry(row: Row): JournalEntry {
  return {
    key: row.key,
    occurrence: row.occurrence,
    seq: row.seq,
    kind: row.kind,
    output: parse(row.output),
    usage: parse(row.usage),
    costUsd: row.cost_usd,
    phase: row.phase,
    label: row.label,
  };
}

export function toRevision(row: Row): RunRevision {
  return {
    revision: row.revision,
    workflow: row.workflow,
    origin: row.origin,
    file: row.file,
    source: row.source,
    args: parse(row.args),
    replacedAt: row.replaced_at,
  };
}

/** A spend ledger row, or zeros where none was written yet. PostgreSQL's BIGINT comes back as text. */
export function toSpendTotals(row: Row | undefined): SpendTotals {
  return {
    usd: Number(row?.usd ?? 0),
    tokens: Number(row?.tokens ?? 0),
    agents: Number(row?.agents ?? 0),
    largestUsd: Number(row?.largest_usd ?? 0),
    largestTokens: Number(row?.largest_tokens ?? 0),
  };
}

export function toChangeBundle(row: Row): ChangeBundle {
  // SQLite returns a BLOB as a Uint8Array, PostgreSQL a BYTEA as a Buffer (one).
  return { ref: row.ref, sha: row.sha, bundle: row.bundle instanceof Uint8Array ? row.bundle : new Uint8Array(row.bundle) };
}

/** What both stores refuse to keep: a ref of another run, or a bundle over the cap. */
export function checkChangeBundle(runId: string, bundle: ChangeBundle): void {
  if (!bundle.ref.startsWith(`refs/foreman/${runId}/`)) throw new Error(`${bundle.ref} is not a change ref of run ${runId} (refs/foreman/${runId}/<change>)`);
  if (bundle.bundle.byteLength > MAX_CHANGE_BUNDLE_BYTES) throw oversizedBundleError(bundle.ref, bundle.bundle.byteLength);
}
