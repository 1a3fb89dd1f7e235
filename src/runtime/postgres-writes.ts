// PostgresStore's hot writes — agent records and journal entries — committed in groups: while one
// transaction commits, the writes that arrive queue up and go together in the next one, so a
// fan-out of agents finishing at once costs a few commits, not one each. Each caller's promise
// resolves only after the commit that holds its write.
import type pg from 'pg';
import { transaction, type Queries } from './postgres-client.ts';
import { json } from './store-rows.ts';
import { tallySpend, type LedgerAddition } from './spend.ts';
import { RunTakenOverError, type AgentRecord, type JournalEntry, type SpendCharge } from '../contracts/store.ts';

/** `generation`: the run's generation the writing store holds; the op is refused if the run moved on. */
export type WriteOp =
  | { kind: 'agent'; runId: string; generation?: number; agent: Omit<AgentRecord, 'no'>; completed?: JournalEntry; spend?: SpendCharge }
  | { kind: 'journal'; runId: string; generation?: number; entry: JournalEntry };

interface Pending {
  op: WriteOp;
  resolve: (no: number) => void;
  reject: (error: Error) => void;
}

const writeFailed = (detail: string): Error =>
  new Error(`the run store could not commit a journal write (${detail}): check that the PostgreSQL server of DATABASE_URL is reachable and accepts writes, then resume the run`);

export class GroupCommitter {
  readonly #pool: pg.Pool;
  #queued: Pending[] = [];
  /** The commit in flight, if any; close() waits for the queue to drain through it. */
  #draining: Promise<void> | null = null;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Resolves once the op is committed, with the agent's number (0 for a journal entry). */
  submit(op: WriteOp): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#queued.push({ op, resolve, reject });
      // Started on the next turn of the event loop, so writes made in this one share the first commit.
      this.#draining ??= new Promise<void>((started) => setImmediate(started)).then(() => this.#drain());
    });
  }

  async close(): Promise<void> {
    await this.#draining;
  }

  async #drain(): Promise<void> {
    while (this.#queued.length > 0) {
      const batch = this.#queued.splice(0);
      try {
        const outcomes = await this.#commit(batch.map((item) => item.op));
        batch.forEach((item, i) => {
          const outcome = outcomes[i]!;
          if (outcome instanceof RunTakenOverError) item.reject(outcome);
          else if (outcome instanceof Error) item.reject(writeFailed(outcome.message));
          else item.resolve(outcome);
        });
      } catch (error) {
        // The commit itself failed, or the connection with it: whether it landed is unknown, so
        // nothing is written again (an agent would get a second number); every caller hears it.
        for (const item of batch) item.reject(writeFailed((error as Error).message));
      }
    }
    this.#draining = null;
  }

  /**
   * One transaction for the batch, each write under a savepoint of its own: a bad write is rolled
   * back alone and answered with its error, and the others still share the one commit.
   */
  #commit(ops: readonly WriteOp[]): Promise<Array<number | Error>> {
    return transaction(this.#pool, async (db) => {
      // Numbering an agent holds its run's row (insertAgent). Taken in arrival order, two stores
      // committing batches of the same runs in different orders could each hold one row and wait
      // for the other's: a deadlock that fails both batches. Taken first, in run id order, they
      // cannot cross. The same lock fences the batch's writes: a claim updates the row, so no run
      // changes hands between the generation read here and the commit.
      const runs = [...new Set(ops.filter((op) => op.kind === 'agent' || op.generation !== undefined).map((op) => op.runId))].sort();
      const generations = new Map<string, number>();
      for (const runId of runs) {
        const row = await db.row('SELECT generation FROM runs WHERE id = $1 FOR NO KEY UPDATE', [runId]);
        if (row) generations.set(runId, Number(row.generation));
      }
      const outcomes: Array<number | Error> = [];
      const charges: SpendCharge[] = [];
      for (const op of ops) {
        const current = generations.get(op.runId) ?? 0;
        if (op.generation !== undefined && current !== op.generation) {
          outcomes.push(new RunTakenOverError(op.runId, current, op.generation));
          continue;
        }
        await db.rows('SAVEPOINT write');
        try {
          outcomes.push(op.kind === 'agent' ? await insertAgent(db, op.runId, op.agent, op.completed) : (await insertJournal(db, op.runId, op.entry), 0));
          await db.rows('RELEASE SAVEPOINT write');
          if (op.kind === 'agent' && op.spend) charges.push(op.spend);
        } catch (error) {
          await db.rows('ROLLBACK TO SAVEPOINT write');
          outcomes.push(error instanceof Error ? error : new Error(String(error)));
        }
      }
      await addSpend(db, tallySpend(charges));
      return outcomes;
    });
  }
}

// DO NOTHING: two executions racing to complete the same call keep the first answer.
async function insertJournal(db: Queries, runId: string, entry: JournalEntry): Promise<void> {
  await db.rows(
    `INSERT INTO journal (run_id, key, occurrence, seq, kind, output, usage, cost_usd, phase, label)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
    [runId, entry.key, entry.occurrence, entry.seq, entry.kind, json(entry.output), entry.usage ? json(entry.usage) : null, entry.costUsd, entry.phase, entry.label],
  );
}

async function insertAgent(db: Queries, runId: string, agent: Omit<AgentRecord, 'no'>, completed?: JournalEntry): Promise<number> {
  // Numbering reads the run's highest number: hold the run's row so two connections cannot both
  // take the same one (GroupCommitter took it already, in order). NO KEY UPDATE leaves other
  // writers' foreign key checks unblocked.
  await db.rows('SELECT 1 FROM runs WHERE id = $1 FOR NO KEY UPDATE', [runId]);
  const row = await db.row(
    `INSERT INTO agents (run_id, no, key, occurrence, label, phase, model, status, prompt, usage, cost_usd, turns, elapsed_ms, error, transcript, finished_at)
     VALUES ($1, (SELECT COALESCE(MAX(no), 0) + 1 FROM agents WHERE run_id = $1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     RETURNING no`,
    [runId, agent.key, agent.occurrence, agent.label, agent.phase, agent.model, agent.status, agent.prompt, json(agent.usage), agent.costUsd, agent.turns, agent.elapsedMs, agent.error, json(agent.transcript), agent.finishedAt],
  );
  if (completed) await insertJournal(db, runId, completed);
  return Number(row!.no);
}

// An upsert locks the ledger's row, so workers adding to one scope at once add up exactly; the
// tally's rows come in one order, so two transactions never wait on each other's rows crosswise.
async function addSpend(db: Queries, rows: readonly LedgerAddition[]): Promise<void> {
  for (const row of rows) {
    await db.rows(
      `INSERT INTO spend (scope, period, usd, tokens, agents, largest_usd, largest_tokens) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (scope, period) DO UPDATE SET usd = spend.usd + EXCLUDED.usd, tokens = spend.tokens + EXCLUDED.tokens, agents = spend.agents + EXCLUDED.agents,
         largest_usd = GREATEST(spend.largest_usd, EXCLUDED.largest_usd), largest_tokens = GREATEST(spend.largest_tokens, EXCLUDED.largest_tokens)`,
      [row.scope, row.period, row.usd, row.tokens, row.agents, row.largestUsd, row.largestTokens],
    );
  }
}
