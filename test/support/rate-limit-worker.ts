// One worker process of the shared rate-limit tests: a fan-out of model requests through
// Foreman's real model client, paced by the shared limiter on the store every worker opens.
// argv: <store: a file path or a postgres:// URL> <API base URL> <requests> <concurrency> <priority>
// Prints one JSON line: how many requests were answered, and the limiter's store round trips.
import { ModelClient } from '../../src/agents/model-client.ts';
import { RateGovernor } from '../../src/agents/governor.ts';
import { SharedRateLimiter, type Priority } from '../../src/agents/shared-rate-limiter.ts';
import { PostgresStore } from '../../src/runtime/postgres-store.ts';
import { SqliteStore } from '../../src/runtime/sqlite-store.ts';

const [location, baseURL, requests, concurrency, priority] = process.argv.slice(2) as [string, string, string, string, Priority];
const store = location.startsWith('postgres://') ? await PostgresStore.open(location) : new SqliteStore(location);
const limiter = new SharedRateLimiter({ store, apiKey: 'sk-ant-shared-test', baseURL, priority });
const client = new ModelClient({ apiKey: 'sk-ant-shared-test', baseURL, governor: new RateGovernor(Number(concurrency)), limiter });
const signal = new AbortController().signal;
const started = performance.now();
const answeredAt: number[] = [];
let next = 0;
const total = Number(requests);
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < total) {
      const n = next++;
      await client.callModel({ model: 'claude-test', max_tokens: 64, messages: [{ role: 'user', content: `${priority} request ${n} ${'x'.repeat(3_200)}` }] }, { signal });
      answeredAt.push(Date.now());
    }
  }),
);
await store.close();
console.log(JSON.stringify({ answered: answeredAt.length, firstAt: Math.min(...answeredAt), lastAt: Math.max(...answeredAt), elapsedMs: performance.now() - started, ...limiter.stats }));
