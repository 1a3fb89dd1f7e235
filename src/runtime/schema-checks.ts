// agent({ schema }) and change({ schema }) are checked when they are called: a schema no answer can
// match throws a TypeError into the script before anything is paid for, instead of failing after
// the agent's five attempts. The shape is checked here (schema-preflight.ts); whether it compiles
// as JSON Schema is the runner's to say, once per distinct schema of the run.
import type { AgentRunner } from '../contracts/ports.ts';
import { unsatisfiableSchema } from './schema-preflight.ts';

/** Distinct schemas whose compile result is remembered; a run with more asks the runner again. */
const MAX_REMEMBERED = 1_000;

export class SchemaChecks {
  readonly #runner: AgentRunner;
  readonly #signal: () => AbortSignal | undefined;
  readonly #compiled = new Map<string, Promise<string | null>>();

  constructor(runner: AgentRunner, signal: () => AbortSignal | undefined) {
    this.#runner = runner;
    this.#signal = signal;
  }

  /** Throws a TypeError naming the problem when `schema` can never be satisfied. */
  async check(callee: 'agent' | 'change', schema: Record<string, unknown> | undefined): Promise<void> {
    if (schema === undefined) return;
    const problem = unsatisfiableSchema(schema) ?? (await this.#compile(schema));
    if (problem !== null) {
      throw new TypeError(`${callee}(prompt, opts?): opts.schema can never be satisfied, so no agent was started: ${problem}`);
    }
  }

  #compile(schema: Record<string, unknown>): Promise<string | null> {
    const check = this.#runner.checkSchema;
    if (!check) return Promise.resolve(null);
    const key = JSON.stringify(schema);
    let known = this.#compiled.get(key);
    if (!known) {
      known = check.call(this.#runner, schema, this.#signal() ?? new AbortController().signal);
      if (this.#compiled.size < MAX_REMEMBERED) this.#compiled.set(key, known);
    }
    return known;
  }
}
