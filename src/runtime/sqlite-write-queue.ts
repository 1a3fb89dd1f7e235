// How SqliteStore hands its hot writes to a committer: a writer thread for a store file (the
// default), or batching on this thread for an in-memory store, which no other thread can open.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { DatabaseSync } from 'node:sqlite';
import { BatchCommitter, type WriteOp, type WriteOutcome } from './sqlite-writes.ts';
import { RunTakenOverError } from '../contracts/store.ts';
import type { WriterReply, WriterRequest } from './sqlite-writer-thread.ts';

export interface WriteQueue {
  /** Resolves once the op is committed, with the agent's number (0 for a journal entry). */
  submit(op: WriteOp): Promise<number>;
  /** Commits what is queued, then lets go of the thread. */
  close(): Promise<void>;
  /** A run is about to write: get ready now rather than on its first write. */
  prepare(): void;
}

interface Waiter {
  resolve: (no: number) => void;
  reject: (error: Error) => void;
}

const writeFailed = (detail: string): Error =>
  new Error(`the run store could not commit a journal write (${detail}): check that FOREMAN_HOME is writable and has free space, then resume the run`);

function answer(waiter: Waiter | undefined, outcome: WriteOutcome): void {
  if (typeof outcome === 'number') waiter?.resolve(outcome);
  else waiter?.reject(new RunTakenOverError(outcome.takenOver.runId, outcome.takenOver.current, outcome.takenOver.held));
}

// Next to this file: the TypeScript source, or in the Action's bundle (dist/) its bundled sibling.
const WRITER_THREAD = new URL(import.meta.url.endsWith('.ts') ? './sqlite-writer-thread.ts' : './sqlite-writer-thread.js', import.meta.url);

export class ThreadWriteQueue implements WriteQueue {
  readonly #file: string;
  #worker: Worker | null = null;
  #nextId = 1;
  readonly #waiting = new Map<number, Waiter>();
  #failure: Error | null = null;
  /** Ops not yet posted: one message per turn of the event loop, since each post costs ~40 µs. */
  #outbox: Array<{ id: number; op: WriteOp }> = [];

  constructor(file: string) {
    this.#file = file;
  }

  prepare(): void {
    this.#worker ??= this.#start();
  }

  submit(op: WriteOp): Promise<number> {
    if (this.#failure) return Promise.reject(this.#failure);
    // Started on the first write: `foreman runs` and `show` only read.
    const worker = (this.#worker ??= this.#start());
    const id = this.#nextId++;
    return new Promise<number>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      // Held only while writes are outstanding, so an idle store never keeps a process alive.
      if (this.#waiting.size === 1) worker.ref();
      this.#outbox.push({ id, op });
      if (this.#outbox.length === 1) setImmediate(() => this.#post(worker));
    });
  }

  #post(worker: Worker): void {
    const ops = this.#outbox;
    this.#outbox = [];
    if (ops.length > 0) worker.postMessage(JSON.stringify({ ops } satisfies WriterRequest));
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = null;
    worker.ref();
    const exited = once(worker, 'exit');
    this.#post(worker);
    worker.postMessage(JSON.stringify({ close: true } satisfies WriterRequest));
    await exited;
  }

  #start(): Worker {
    const worker = new Worker(WRITER_THREAD, { workerData: { file: this.#file } });
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      reply.ids.forEach((id, i) => {
        const waiter = this.#waiting.get(id);
        this.#waiting.delete(id);
        if ('error' in reply) waiter?.reject(writeFailed(reply.error));
        else answer(waiter, reply.numbers[i]!);
      });
      if (this.#waiting.size === 0) worker.unref();
    });
    worker.on('error', (error) => this.#fail(writeFailed(`the writer thread failed: ${error.message}`)));
    worker.on('exit', (code) => this.#fail(writeFailed(`the writer thread exited with code ${code}`)));
    return worker;
  }

  #fail(error: Error): void {
    if (this.#waiting.size === 0 && this.#worker === null) return;
    this.#failure ??= error;
    for (const waiter of this.#waiting.values()) waiter.reject(error);
    this.#waiting.clear();
  }
}

/** Same batching on this thread: ops submitted in one turn of the event loop share a commit. */
export class InlineWriteQueue implements WriteQueue {
  readonly #committer: BatchCommitter;
  #pending: Array<{ op: WriteOp } & Waiter> = [];

  constructor(db: DatabaseSync) {
    this.#committer = new BatchCommitter(db);
  }

  prepare(): void {}

  submit(op: WriteOp): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#pending.push({ op, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => this.#flush());
    });
  }

  async close(): Promise<void> {
    this.#flush();
  }

  #flush(): void {
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    let outcomes: WriteOutcome[];
    try {
      outcomes = this.#committer.commit(batch.map((item) => item.op));
    } catch (error) {
      for (const item of batch) item.reject(writeFailed((error as Error).message));
      return;
    }
    batch.forEach((item, i) => answer(item, outcomes[i]!));
  }
}
