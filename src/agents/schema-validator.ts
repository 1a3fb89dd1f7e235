// Checks model answers against a script's JSON Schema off the main thread, with a deadline. The
// schema is the script's, so its patterns and keywords may cost anything: they run in one thread
// (schema-thread.ts) that is ended when a request overruns, and an answer that could not be checked
// in time fails its agent with an error naming the pattern that hung. The run goes on.
import { Worker } from 'node:worker_threads';
import type { SchemaReply, SchemaRequest } from './schema-thread.ts';

/** How long compiling a schema, or checking one answer against it, may take. */
export const SCHEMA_DEADLINE_MS = 2_000;
/** Largest schema accepted, in characters of JSON. */
export const MAX_SCHEMA_CHARS = 100_000;
/** Deepest nesting of objects and arrays accepted: Ajv's compile time grows with the square of it. */
export const MAX_SCHEMA_DEPTH = 64;
/** Requests that may wait for the thread; each agent has at most one at a time. */
const MAX_WAITING = 256;
/** An idle thread is ended after this long, so a finished run holds no thread. */
const IDLE_MS = 10_000;

// Next to this file: the TypeScript source, or in the Action's bundle (dist/) its bundled sibling.
const SCHEMA_THREAD = new URL(import.meta.url.endsWith('.ts') ? './schema-thread.ts' : './schema-thread.js', import.meta.url);

/** The schema or the answer could not be checked: the agent fails with this message. */
export class SchemaError extends Error {}

/** The schema itself can never be used (not JSON Schema, too large, too deep), whatever the answer. */
export class InvalidSchemaError extends SchemaError {}

/** The agent was stopped while its check waited or ran; the check is dropped. */
export class SchemaCheckStopped extends Error {}

interface Job {
  request: SchemaRequest;
  resolve: (errors: string[] | null) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  /** [0]: the number of the pattern the thread is running, -1 when none. */
  running: Int32Array;
  patterns: Map<number, string>;
  ready: boolean;
}

export class SchemaValidator {
  #thread: Thread | null = null;
  readonly #waiting: Job[] = [];
  #current: { job: Job; timer: NodeJS.Timeout } | null = null;
  #nextId = 1;
  #idle: NodeJS.Timeout | null = null;
  /** Schemas (JSON) that overran the deadline once, with the error: they fail at once from then on. */
  readonly #overran = new Map<string, string>();

  /** The schema as the thread receives it; throws SchemaError when it is too large or too deep. */
  static serialise(schema: Record<string, unknown>): string {
    if (depthOver(schema, MAX_SCHEMA_DEPTH)) {
      throw new InvalidSchemaError(`the schema nests objects and arrays more than ${MAX_SCHEMA_DEPTH} levels deep; schemas may nest at most ${MAX_SCHEMA_DEPTH}: flatten it, e.g. with $ref to definitions`);
    }
    const text = JSON.stringify(schema);
    if (text.length > MAX_SCHEMA_CHARS) {
      throw new InvalidSchemaError(`the schema is ${text.length} characters of JSON; schemas may have at most ${MAX_SCHEMA_CHARS}: describe the answer with fewer, shorter properties, or check details in the script`);
    }
    return text;
  }

  /**
   * Compiles the schema; rejects with SchemaError when it is invalid or too slow to compile, and
   * with SchemaCheckStopped when `signal` is aborted first.
   */
  async compile(schema: string, signal: AbortSignal): Promise<void> {
    await this.#submit({ id: this.#nextId++, schema, compileOnly: true }, signal);
  }

  /** null when `value` matches, else one line per problem, written for the model. Rejects as compile() does. */
  async check(schema: string, value: unknown, signal: AbortSignal): Promise<string | null> {
    const errors = await this.#submit({ id: this.#nextId++, schema, value }, signal);
    return errors === null ? null : errors.join('\n');
  }

  #submit(request: SchemaRequest, signal: AbortSignal): Promise<string[] | null> {
    const overran = this.#overran.get(request.schema);
    if (overran) return Promise.reject(new SchemaError(overran));
    if (signal.aborted) return Promise.reject(new SchemaCheckStopped('stopped'));
    if (this.#waiting.length >= MAX_WAITING) {
      return Promise.reject(new SchemaError(`${MAX_WAITING} answers are already waiting to be checked against their schemas; run fewer schema agents at once`));
    }
    return new Promise((resolve, reject) => {
      const job: Job = {
        request,
        resolve: (errors) => {
          signal.removeEventListener('abort', drop);
          resolve(errors);
        },
        reject: (error) => {
          signal.removeEventListener('abort', drop);
          reject(error);
        },
      };
      // A stop must not wait for the deadline, nor leave the thread (which keeps the process alive) running.
      const drop = () => this.#drop(job);
      signal.addEventListener('abort', drop, { once: true });
      this.#waiting.push(job);
      this.#pump();
    });
  }

  #drop(job: Job): void {
    const at = this.#waiting.indexOf(job);
    if (at >= 0) this.#waiting.splice(at, 1);
    else if (this.#current?.job === job) {
      clearTimeout(this.#current.timer);
      this.#current = null;
      if (this.#thread) this.#stop(this.#thread);
    } else return;
    job.reject(new SchemaCheckStopped('stopped'));
    this.#pump();
  }

  /** Sends the next request once the thread is ready and free; its deadline starts then. */
  #pump(): void {
    if (this.#current || this.#waiting.length === 0) return;
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    const thread = (this.#thread ??= this.#start());
    thread.worker.ref();
    if (!thread.ready) return;
    const job = this.#waiting.shift()!;
    const timer = setTimeout(() => this.#overrun(thread, job), SCHEMA_DEADLINE_MS);
    this.#current = { job, timer };
    thread.worker.postMessage(job.request);
  }

  #start(): Thread {
    const running = new Int32Array(new SharedArrayBuffer(4));
    running[0] = -1;
    const worker = new Worker(SCHEMA_THREAD, { workerData: { running: running.buffer } });
    const thread: Thread = { worker, running, patterns: new Map(), ready: false };
    worker.on('message', (reply: SchemaReply) => this.#receive(thread, reply));
    worker.on('error', (error) => this.#lost(thread, `the schema thread failed: ${error.message}`));
    worker.on('exit', (code) => this.#lost(thread, `the schema thread exited with code ${code}`));
    return thread;
  }

  #receive(thread: Thread, reply: SchemaReply): void {
    if (thread !== this.#thread) return;
    switch (reply.type) {
      case 'ready':
        thread.ready = true;
        break;
      case 'pattern':
        thread.patterns.set(reply.number, reply.source);
        return;
      case 'forget-patterns':
        thread.patterns.clear();
        return;
      case 'done':
      case 'invalid-schema': {
        const current = this.#current;
        if (!current || current.job.request.id !== reply.id) return;
        clearTimeout(current.timer);
        this.#current = null;
        if (reply.type === 'done') current.job.resolve(reply.errors);
        else current.job.reject(new InvalidSchemaError(`the schema is not a valid JSON Schema: ${reply.message}`));
        break;
      }
    }
    this.#afterReply(thread);
  }

  #afterReply(thread: Thread): void {
    if (this.#waiting.length > 0) return this.#pump();
    // Held only while requests are outstanding, so an idle thread never keeps a process alive.
    thread.worker.unref();
    this.#idle = setTimeout(() => this.#stop(thread), IDLE_MS);
    this.#idle.unref();
  }

  /** The request overran its deadline: the thread is ended, the agent failed, the next request gets a new thread. */
  #overrun(thread: Thread, job: Job): void {
    const number = Atomics.load(thread.running, 0);
    const pattern = number >= 0 ? thread.patterns.get(number) : undefined;
    this.#current = null;
    this.#stop(thread);
    const message = overrunMessage('compileOnly' in job.request, pattern);
    this.#overran.set(job.request.schema, message);
    job.reject(new SchemaError(message));
    // Requests for the same schema fail at once rather than each waiting out the deadline.
    for (const waiting of this.#waiting.filter((other) => other.request.schema === job.request.schema)) {
      this.#waiting.splice(this.#waiting.indexOf(waiting), 1);
      waiting.reject(new SchemaError(message));
    }
    this.#pump();
  }

  #stop(thread: Thread): void {
    if (this.#thread !== thread) return;
    this.#thread = null;
    void thread.worker.terminate();
  }

  /** The thread died on its own (it should not): what was asked of it fails, the next request restarts it. */
  #lost(thread: Thread, detail: string): void {
    if (this.#thread !== thread) return;
    this.#thread = null;
    const failed = [...(this.#current ? [this.#current.job] : []), ...this.#waiting.splice(0)];
    if (this.#current) clearTimeout(this.#current.timer);
    this.#current = null;
    for (const job of failed) job.reject(new SchemaError(`the answer could not be checked against the schema: ${detail}`));
  }
}

/** Whether `value` nests objects or arrays deeper than `limit`; stops looking at the limit. */
function depthOver(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit === 0) return true;
  return Object.values(value).some((child) => depthOver(child, limit - 1));
}

function overrunMessage(compiling: boolean, pattern: string | undefined): string {
  const seconds = SCHEMA_DEADLINE_MS / 1000;
  if (pattern !== undefined) {
    return (
      `checking the answer against the schema took over ${seconds} s and was stopped: the schema's pattern ${JSON.stringify(pattern)} backtracks ` +
      `catastrophically on it. Fix the schema: rewrite that pattern so no part of a string can be matched in two ways (no nested or overlapping ` +
      `repetition such as (a|a)+ or (a+)+), or drop the pattern and check the value in the script`
    );
  }
  if (compiling) return `compiling the schema took over ${seconds} s and was stopped: make the schema smaller and less deeply nested`;
  return (
    `checking the answer against the schema took over ${seconds} s and was stopped: simplify the schema (e.g. no uniqueItems on long arrays, ` +
    `fewer nested anyOf/oneOf), or check that part of the answer in the script`
  );
}
