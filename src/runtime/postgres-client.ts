// How PostgresStore talks to the server: parameterised queries only, through a bounded pool, with
// text PostgreSQL cannot hold made safe. PostgreSQL's text refuses the NUL character, which a
// script, a prompt or a model's error may contain; every string is sent with NUL written as
// U+FFFF '0' (and U+FFFF itself doubled), and read back the same way, so it round-trips exactly
// and ordinary text is stored as it reads.
import pg from 'pg';
import type { Row } from './store-rows.ts';


const MARK = '\uffff';
const encode = (text: string): string => (/[\0\uffff]/.test(text) ? text.replace(/\uffff/g, MARK + MARK).replace(/\0/g, `${MARK}0`) : text);
const decode = (text: string): string => (text.includes(MARK) ? text.replace(/\uffff([\uffff0])/g, (_, c: string) => (c === '0' ? '\0' : MARK)) : text);

const decodeRow = (row: Row): Row => {
  for (const [column, value] of Object.entries(row)) if (typeof value === 'string') row[column] = decode(value);
  return row;
};

/** A pool connection or one held for a transaction: both answer the same queries. */
export class Queries {
  readonly #target: pg.Pool | pg.PoolClient;

  constructor(target: pg.Pool | pg.PoolClient) {
    this.#target = target;
  }

  async rows(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    const result = await this.#target.query(sql, params.map((value) => (typeof value === 'string' ? encode(value) : value)));
    return result.rows.map(decodeRow);
  }

  /** Constant SQL of several statements (a migration): nothing of the caller's goes into it. */
  async script(sql: string): Promise<void> {
    await this.#target.query(sql);
  }

  async row(sql: string, params: readonly unknown[] = []): Promise<Row | undefined> {
    return (await this.rows(sql, params))[0];
  }
}

/** Runs `work` in one transaction on one connection: committed when it returns, rolled back if it throws. */
export async function transaction<T>(pool: pg.Pool, work: (queries: Queries) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const value = await work(new Queries(client));
    await client.query('COMMIT');
    return value;
  } catch (error) {
    // A failed ROLLBACK means the connection is gone: drop it from the pool rather than reuse it.
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Longest one query may take, the wait for another process's migration lock included. */
export const QUERY_TIMEOUT_MS = 60_000;

/**
 * A pool's settings: a connection that silently stops delivering (a failover, a NAT timeout) must
 * fail, not hold every later query behind it: TCP keep-alive finds it, and no query waits longer
 * than `queryTimeoutMs`. pg-boss's pool (pgboss-queue.ts) takes the same.
 */
export function poolSettings(url: string, size: number, queryTimeoutMs = QUERY_TIMEOUT_MS): pg.PoolConfig {
  return {
    connectionString: url,
    max: size,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    query_timeout: queryTimeoutMs,
  };
}

export function openPool(url: string, size: number): pg.Pool {
  const pool = new pg.Pool(poolSettings(url, size));
  // An idle connection the server drops (a restart, a failover) is an 'error' here; the pool
  // replaces it on the next query, which reports any lasting failure itself.
  pool.on('error', () => {});
  return pool;
}
