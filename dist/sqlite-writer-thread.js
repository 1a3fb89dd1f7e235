import { createRequire as __foremanRequire } from 'node:module'; const require = __foremanRequire(import.meta.url);

// src/runtime/sqlite-writer-thread.ts
import { parentPort, workerData } from "node:worker_threads";

// src/runtime/sqlite-writes.ts
import { DatabaseSync } from "node:sqlite";
function openDatabase(file) {
  const db2 = new DatabaseSync(file);
  db2.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;");
  return db2;
}
var json = (value) => JSON.stringify(value ?? null);
var PreparedStatements = class {
  #db;
  #cache = /* @__PURE__ */ new Map();
  constructor(db2) {
    this.#db = db2;
  }
  get(sql) {
    let statement = this.#cache.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#cache.set(sql, statement);
    }
    return statement;
  }
};
var BatchCommitter = class {
  #db;
  #statements;
  constructor(db2) {
    this.#db = db2;
    this.#statements = new PreparedStatements(db2);
  }
  /**
   * Writes every op in one transaction, so one disk sync covers the batch. Returns, per op, the
   * agent's number within its run (0 for journal entries). All or nothing.
   */
  commit(ops) {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const numbers = ops.map((op) => op.kind === "agent" ? this.#insertAgent(op.runId, op.agent, op.completed) : (this.#insertJournal(op.runId, op.entry), 0));
      this.#db.exec("COMMIT");
      return numbers;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }
  // OR IGNORE: two executions racing to complete the same call keep the first answer.
  #insertJournal(runId, entry) {
    this.#statements.get(
      `INSERT OR IGNORE INTO journal (run_id, key, occurrence, seq, kind, output, usage, cost_usd, phase, label)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
    ).run(runId, entry.key, entry.occurrence, entry.seq, entry.kind, json(entry.output), entry.usage ? json(entry.usage) : null, entry.costUsd, entry.phase, entry.label);
  }
  #insertAgent(runId, agent, completed) {
    const row = this.#statements.get(
      `INSERT INTO agents (run_id, no, key, occurrence, label, phase, model, status, prompt, usage, cost_usd, turns, elapsed_ms, error, transcript, finished_at)
       VALUES (?, (SELECT COALESCE(MAX(no), 0) + 1 FROM agents WHERE run_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       RETURNING no`
    ).get(runId, runId, agent.key, agent.occurrence, agent.label, agent.phase, agent.model, agent.status, agent.prompt, json(agent.usage), agent.costUsd, agent.turns, agent.elapsedMs, agent.error, json(agent.transcript), agent.finishedAt);
    if (completed) this.#insertJournal(runId, completed);
    return Number(row.no);
  }
};

// src/runtime/sqlite-writer-thread.ts
var db = openDatabase(workerData.file);
var committer = new BatchCommitter(db);
var pending = [];
var port = parentPort;
port.on("message", (text) => {
  const message = JSON.parse(text);
  if ("close" in message) {
    flush();
    db.close();
    port.close();
    return;
  }
  if (pending.length === 0) setImmediate(flush);
  pending.push(...message.ops);
});
function flush() {
  if (pending.length === 0) return;
  const batch = pending;
  pending = [];
  const ids = batch.map((item) => item.id);
  let reply;
  try {
    reply = { ids, numbers: committer.commit(batch.map((item) => item.op)) };
  } catch (error) {
    reply = { ids, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
}
