// What src/service/runs.ts imports as SqliteStore when fanout-postgres-worker.ts runs it: the
// PostgresStore that worker opened (a constructor may return another object).
export class SqliteStore {
  constructor() {
    const store = (globalThis as { benchStore?: object }).benchStore;
    if (!store) throw new Error('postgres-store-stand-in.ts is only for bench/fanout-postgres-worker.ts, which opens the store first');
    return store as SqliteStore;
  }
}
