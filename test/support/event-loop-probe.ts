// Preloaded into a foreman process under test (NODE_OPTIONS=--import): a heartbeat every 10 ms
// that notes each time the process's event loop did not come round in time, and, when the process
// exits, writes those stalls to `<FOREMAN_TEST_LOOP_PROBE>.<pid>`. Tests read it with loopStalls().
// A stall counts the main thread's own CPU time too: on a loaded machine the loop also comes round
// late when the thread merely waits for a core, which is not the process holding its event loop.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

/** A stretch in which no timer could fire, ending at `at` (Date.now() ms): `ms` long, `busyMs` of it running on the main thread. */
export interface Stall {
  at: number;
  ms: number;
  busyMs: number;
}

const BEAT_MS = 10;
/** Gaps this much past the beat are noted; shorter ones are the scheduler's noise. */
const NOTED_MS = 30;

const threadCpuMs = (): number => {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
};

const file = process.env.FOREMAN_TEST_LOOP_PROBE;
// The main thread only: worker threads and child processes may load this too.
if (file && isMainThread) {
  const stalls: Stall[] = [];
  let last = Date.now();
  let lastCpu = threadCpuMs();
  setInterval(() => {
    const now = Date.now();
    const cpu = threadCpuMs();
    if (now - last > BEAT_MS + NOTED_MS) stalls.push({ at: now, ms: now - last, busyMs: cpu - lastCpu });
    last = now;
    lastCpu = cpu;
  }, BEAT_MS).unref();
  process.on('exit', () => writeFileSync(`${file}.${process.pid}`, JSON.stringify(stalls)));
}

/** The NODE_OPTIONS value that preloads this probe. */
export const LOOP_PROBE_OPTION = `--import=${fileURLToPath(import.meta.url)}`;

/** The stalls the probed process `pid` wrote as it exited. */
export function loopStalls(probeFile: string, pid: number): Stall[] {
  return JSON.parse(readFileSync(`${probeFile}.${pid}`, 'utf8')) as Stall[];
}

/** How long the main thread held its event loop at most (its CPU time in one stall) within [from, to]. */
export function longestHoldWithin(stalls: Stall[], from: number, to: number): number {
  return Math.max(0, ...stalls.filter((s) => s.at >= from && s.at - s.ms <= to).map((s) => s.busyMs));
}
