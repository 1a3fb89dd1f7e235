// fanout-worker.ts with the run store on PostgreSQL instead of the embedded SQLite file: the
// database URL is the first argument, the rest are fanout-worker.ts's. The service opens its store
// with `openStore(home)`, SQLite only on this branch; a module hook hands it a PostgresStore
// opened here instead, so the service's code runs unchanged and the two figures differ by the
// store alone. Once the service takes a database URL itself (ServiceEnv.databaseUrl, issue #16's
// DATABASE_URL selection), pass it that way and drop the hook.
import { registerHooks } from 'node:module';
import { PostgresStore } from '../src/runtime/postgres-store.ts';

const [databaseUrl, ...rest] = process.argv.slice(2);
const store = await PostgresStore.open(databaseUrl);
(globalThis as { benchStore?: PostgresStore }).benchStore = store;

const stand = new URL('./postgres-store-stand-in.ts', import.meta.url).href;
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === '../runtime/sqlite-store.ts' && context.parentURL?.endsWith('/src/service/runs.ts')) return { url: stand, shortCircuit: true };
    return nextResolve(specifier, context);
  },
});
process.argv = [process.argv[0], process.argv[1], ...rest];
await import('./fanout-worker.ts');
