// The intake on a thread of its own (intake-thread.ts), so the acknowledgement path never waits
// behind its GitHub calls; started again when it dies.
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SupervisedPart } from './health.ts';
import type { IntakeThreadData } from './intake-thread.ts';
import { Supervised } from './supervised.ts';
import type { Logger } from './jobs.ts';

/** How long a stopping thread may take to finish the job in hand before it is ended. */
const STOP_GRACE_MS = 10_000;
/** How often the thread says it is alive: from its event loop, so a loop that is stuck says nothing. */
const HEARTBEAT_MS = 1_000;
/**
 * A thread silent this long is stuck (a tight loop, a synchronous call that never returns): it
 * counts as down and is ended, so that the supervisor starts a new one. Its work is async, so
 * even a slow GitHub never keeps its loop from beating.
 */
const STALL_MS = 10_000;

export interface IntakeSupervisor extends SupervisedPart {
  /** Resolves once the thread runs (or has died: it is then started again). */
  start(): Promise<void>;
  /** A delivery was queued: the thread takes it now rather than at its next poll. */
  wake(): void;
  stop(): Promise<void>;
}

export function superviseIntakeThread(
  data: IntakeThreadData,
  options: { log: Logger; onQueued: () => void; signal: AbortSignal; releaseHolder: (holder: string) => Promise<unknown> },
): IntakeSupervisor {
  const { log, onQueued, signal } = options;
  let stopped: () => void = () => {};
  let lastBeat = Date.now();
  // Each thread claims under a name of its own (within this process's), so that what a crashed or
  // stuck one held goes back in line at once: the process that claimed it is still alive.
  let launches = 0;
  let holder = data.holder;
  const stalled = (): boolean => Date.now() - lastBeat > STALL_MS;
  const part = new Supervised<Worker>({
    name: 'intake thread',
    log,
    signal,
    afterEnd: () => options.releaseHolder(holder),
    launch(events) {
      lastBeat = Date.now();
      launches += 1;
      holder = `${data.holder}intake-${launches}/`;
      const thread = new Worker(new URL('./intake-thread.ts', import.meta.url), { workerData: { ...data, holder, heartbeatMs: HEARTBEAT_MS } });
      thread.once('online', () => events.up());
      thread.on('message', (message) => {
        if (message === 'alive') lastBeat = Date.now();
        if (message === 'queued') onQueued();
        if (message === 'stopped') stopped();
      });
      thread.on('error', (error) => log.error({ part: 'intake thread', err: error }, `the intake thread failed: ${error.message}`));
      thread.once('exit', (code) => events.ended({ exit: code }));
      return thread;
    },
  });
  // terminate() interrupts even a thread whose loop is stuck; its exit restarts it like a crash.
  const watchdog = setInterval(() => {
    if (part.state() !== 'up' || !stalled() || signal.aborted) return;
    log.error({ part: 'intake thread' }, `the intake thread has not answered for ${STALL_MS / 1000} s: ending it, so that a new one starts`);
    lastBeat = Date.now();
    void part.current?.terminate();
  }, HEARTBEAT_MS);
  watchdog.unref();
  signal.addEventListener('abort', () => clearInterval(watchdog), { once: true });
  let wakeQueued = false;
  return {
    name: part.name,
    state: () => (part.state() === 'up' && stalled() ? 'down' : part.state()),
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
        clearInterval(watchdog);
        // The job in hand finishes; a thread that does not answer within the grace is ended.
        const answered = new Promise<void>((done) => (stopped = done));
        const gone = new Promise<void>((done) => thread.once('exit', () => done()));
        thread.postMessage('stop');
        await Promise.race([answered, gone, sleep(STOP_GRACE_MS, undefined, { ref: false })]);
        await thread.terminate();
      }),
  };
}
