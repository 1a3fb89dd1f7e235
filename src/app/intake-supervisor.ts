// The intake on a thread of its own (intake-thread.ts), so the acknowledgement path never waits
// behind its GitHub calls; started again when it dies.
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SupervisedPart } from './health.ts';
import type { IntakeThreadData } from './intake-thread.ts';
import { Supervised } from './supervised.ts';
import type { Logger } from './worker.ts';

/** How long a stopping thread may take to finish the job in hand before it is ended. */
const STOP_GRACE_MS = 10_000;

export interface IntakeSupervisor extends SupervisedPart {
  /** Resolves once the thread runs (or has died: it is then started again). */
  start(): Promise<void>;
  /** A delivery was queued: the thread takes it now rather than at its next poll. */
  wake(): void;
  stop(): Promise<void>;
}

export function superviseIntakeThread(data: IntakeThreadData, options: { log: Logger; onQueued: () => void; signal: AbortSignal }): IntakeSupervisor {
  const { log, onQueued, signal } = options;
  let stopped: () => void = () => {};
  const part = new Supervised<Worker>({
    name: 'intake thread',
    log,
    signal,
    launch(events) {
      const thread = new Worker(new URL('./intake-thread.ts', import.meta.url), { workerData: data });
      thread.once('online', () => events.up());
      thread.on('message', (message) => {
        if (message === 'queued') onQueued();
        if (message === 'stopped') stopped();
      });
      thread.on('error', (error) => log.error({ part: 'intake thread', err: error }, `the intake thread failed: ${error.message}`));
      thread.once('exit', (code) => events.ended({ exit: code }));
      return thread;
    },
  });
  let wakeQueued = false;
  return {
    name: part.name,
    state: () => part.state(),
    start: () => part.start(),
    wake() {
      // One message per event-loop turn, however many deliveries arrived in it.
      if (wakeQueued) return;
      wakeQueued = true;
      setImmediate(() => {
        wakeQueued = false;
        part.current?.postMessage('wake');
      });
    },
    stop: () =>
      part.stop(async (thread) => {
        // The job in hand finishes; a thread that does not answer within the grace is ended.
        const answered = new Promise<void>((done) => (stopped = done));
        const gone = new Promise<void>((done) => thread.once('exit', () => done()));
        thread.postMessage('stop');
        await Promise.race([answered, gone, sleep(STOP_GRACE_MS, undefined, { ref: false })]);
        await thread.terminate();
      }),
  };
}
