// The store's hot writes — agent records and journal entries — and how a batch of them is
// committed. Shared by the writer thread (the default) and the in-thread fallback, so both
// commit exactly the same way.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { AgentRecord, JournalEntry, SpendCharge } from '../contracts/store.ts';
import { json } from './store-rows.ts';
import { tallySpend, type LedgerAddition } from './spend.ts';

/** `generation`: the run's generation the writing store holds; the op is refused if the run moved on. */
export type WriteOp =
  | { kind: 'agent'; runId: string; generation?: number; agent: Omit<AgentRecord, 'no'>; completed?: JournalEntry; spend?: SpendCharge }
  | { kind: 'journal'; runId: string; generation?: number; entry: JournalEntry };

/** Per op: the agent's number (0 for a journal entry), or the generation that took the run over. */
export type WriteOutcome = number | { takenOver: { runId: string; current: number; held: number } };

/** How long a statement waits for another process's write lock before it fails. */
export const BUSY_TIMEOUT_MS = 5_000;
/** How long opening and migrating a store wait for it: several processes may open a new store at once. */
export const OPEN_BUSY_TIMEOUT_MS = 30_000;

/**
 * WAL with synchronous=FULL: a commit is on disk before the caller hears of it. The busy timeout
 * comes first: switching a new file to WAL takes a lock, and a process opening the store while
 * another creates it (`foreman runs` as a run starts) must wait for it rather than fail.
 */
export function openDatabase(file: string): DatabaseSync {
  // Opening waits as long as a migration may (several processes opening a new store at once).
  const db = new DatabaseSync(file, { timeout: OPEN_BUSY_TIMEOUT_MS });
  db.exec(`PRAGMA busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
  // Switching a new file to WAL can fail busy at once, without SQLite's busy handler, while another
  // process is creating or migrating it: tried again until the open timeout. Only a store opened
  // at the moment another creates it ever waits here.
  const deadline = Date.now() + OPEN_BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      db.exec('PRAGMA journal_mode = WAL');
      break;
    } catch (error) {
      if ((error as { errcode?: number }).errcode !== SQLITE_BUSY || Date.now() > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  db.exec(`PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS};`);
  return db;
}

const SQLITE_BUSY = 5;

/** Statements prepared once per connection: the hot writes run the same few SQL texts over and over. */
export class PreparedStatements {
  readonly #db: DatabaseSync;
  readonly #cache = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  get(sql: string): StatementSync {
    let statement = this.#cache.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#cache.set(sql, statement);
    }
    return statement;
  }
}

export class BatchCommitter {
  readonly #db: DatabaseSync;
  readonly #statements: PreparedStatements;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#statements = new PreparedStatements(db);
  }

  /**
   * Writes every op in one transaction, so one disk sync covers the batch. Returns, per op, the
   * agent's number within its run (0 for journal entries), or for an op of a run taken over since
   * its store claimed it, the generation that took it: that op alone is not written. All or nothing
   * otherwise.
   */
  commit(ops: readonly WriteOp[]): WriteOutcome[] {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      // Read once per run per batch, under the write lock a claim needs too.
      const generations = new Map<string, number>();
      const current = (runId: string): number => {
        let generation = generations.get(runId);
        if (generation === undefined) {
          const row = this.#statements.get('SELECT generation FROM runs WHERE id = ?').get(runId) as { generation: number } | undefined;
          generation = Number(row?.generation ?? 0);
          generations.set(runId, generation);
        }
        return generation;
      };
      const charges: SpendCharge[] = [];
      const outcomes = ops.map((op): WriteOutcome => {
        if (op.generation !== undefined && current(op.runId) !== op.generation) return { takenOver: { runId: op.runId, current: current(op.runId), held: op.generation } };
        if (op.kind === 'agent' && op.spend) charges.push(op.spend);
        return op.kind === 'agent' ? this.#insertAgent(op.runId, op.agent, op.completed) : (this.#insertJournal(op.runId, op.entry), 0);
      });
      this.#addSpend(tallySpend(charges));
      this.#db.exec('COMMIT');
      return outcomes;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  // OR IGNORE: two executions racing to complete the same call keep the first answer.
  #insertJournal(runId: string, entry: JournalEntry): void {
    this.#statements.get(
      `INSERT OR IGNORE INTO journal (run_id, key, occurrence, seq, kind, output, usage, cost_usd, phase, label)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(runId, entry.key, entry.occurrence, entry.seq, entry.kind, json(entry.output), entry.usage ? json(entry.usage) : null, entry.costUsd, entry.phase, entry.label);
  }

  #insertAgent(runId: string, agent: Omit<AgentRecord, 'no'>, completed?: JournalEntry): number {
    const row = this.#statements.get(
      `INSERT INTO agents (run_id, no, key, occurrence, label, phase, model, status, prompt, usage, cost_usd, turns, elapsed_ms, error, transcript, finished_at)
       VALUES (?, (SELECT COALESCE(MAX(no), 0) + 1 FROM agents WHERE run_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       RETURNING no`,
    ).get(runId, runId, agent.key, agent.occurrence, agent.label, agent.phase, agent.model, agent.status, agent.prompt, json(agent.usage), agent.costUsd, agent.turns, agent.elapsedMs, agent.error, json(agent.transcript), agent.finishedAt) as { no: number };
    if (completed) this.#insertJournal(runId, completed);
    return Number(row.no);
  }

  #addSpend(rows: readonly LedgerAddition[]): void {
    if (rows.length === 0) return;
    const add = this.#statements.get(
      `INSERT INTO spend (scope, period, usd, tokens, agents, largest_usd, largest_tokens) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope, period) DO UPDATE SET usd = usd + excluded.usd, tokens = tokens + excluded.tokens, agents = agents + excluded.agents,
         largest_usd = MAX(largest_usd, excluded.largest_usd), largest_tokens = MAX(largest_tokens, excluded.largest_tokens)`,
    );
    for (const row of rows) add.run(row.scope, row.period, row.usd, row.tokens, row.agents, row.largestUsd, row.largestTokens);
  }
}
