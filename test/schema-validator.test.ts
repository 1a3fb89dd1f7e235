// The schema thread (src/agents/schema-validator.ts) with a real worker: the script's schema is
// compiled and answers are checked off the main thread, under a deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SCHEMA_CHARS, MAX_SCHEMA_DEPTH, SchemaCheckStopped, SchemaError, SchemaValidator } from '../src/agents/schema-validator.ts';

const running = () => new AbortController().signal;

const threadCpuMs = (): number => {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
};

/**
 * The longest time this thread held its event loop while `work` ran: the thread's own CPU time
 * between two beats of a 10 ms timer (on a loaded machine a beat is also late when the thread only
 * waits for a core).
 */
async function longestHold(work: () => Promise<unknown>): Promise<number> {
  let lastCpu = threadCpuMs();
  let longest = 0;
  const beat = setInterval(() => {
    const cpu = threadCpuMs();
    longest = Math.max(longest, cpu - lastCpu);
    lastCpu = cpu;
  }, 10);
  try {
    await work();
  } finally {
    clearInterval(beat);
  }
  return longest;
}

test('a schema over the size bound is refused before it reaches the thread', () => {
  const huge = { type: 'object', description: 'x'.repeat(MAX_SCHEMA_CHARS) };
  assert.throws(() => SchemaValidator.serialise(huge), (error) => error instanceof SchemaError && error.message.includes(`schemas may have at most ${MAX_SCHEMA_CHARS}`));
});

test('a schema nested too deeply for Ajv to compile quickly is refused before it reaches the thread', () => {
  let deep: Record<string, unknown> = { type: 'string' };
  for (let i = 0; i < 5_000; i++) deep = { properties: { a: deep } };
  assert.throws(() => SchemaValidator.serialise(deep), (error) => error instanceof SchemaError && error.message.includes(`schemas may nest at most ${MAX_SCHEMA_DEPTH}: flatten it`));
});

test('a check that overruns the deadline names the pattern it was running, without holding the main thread', async () => {
  const validator = new SchemaValidator();
  const schema = SchemaValidator.serialise({ type: 'object', properties: { id: { type: 'string', pattern: '^[a-z]+$' }, word: { type: 'string', pattern: '^(a|a)+$' } } });
  let failure: unknown;
  const held = await longestHold(() => validator.check(schema, { id: 'x', word: `${'a'.repeat(36)}!` }, running()).catch((error) => (failure = error)));
  assert.ok(failure instanceof SchemaError, String(failure));
  assert.match(failure.message, /^checking the answer against the schema took over 2 s and was stopped: the schema's pattern "\^\(a\|a\)\+\$" backtracks catastrophically/);
  assert.ok(held < 100, `the main thread was held for ${held} ms`);
  // The same schema fails at once from then on.
  await assert.rejects(validator.check(schema, { id: 'x', word: 'a' }, running()), /the schema's pattern "\^\(a\|a\)\+\$"/);
});

test('a stop drops a check that is running at once, and the next check gets a fresh thread', async () => {
  const validator = new SchemaValidator();
  const schema = SchemaValidator.serialise({ type: 'object', properties: { word: { type: 'string', pattern: '^(a|a)+$' } } });
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 100);
  const startedAt = performance.now();
  await assert.rejects(validator.check(schema, { word: `${'a'.repeat(36)}!` }, stop.signal), SchemaCheckStopped);
  assert.ok(performance.now() - startedAt < 1_000);
  assert.equal(await validator.check(schema, { word: 'aaa' }, running()), null);
  assert.equal(await validator.check(schema, { word: 'b' }, running()), '- at /word must match pattern "^(a|a)+$"');
});
