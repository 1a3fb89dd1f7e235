// Preloaded into a foreman process under test (NODE_OPTIONS=--import): a heartbeat every 10 ms
// that notes each time the process's event loop was held for longer, and, when the process exits,
// writes those stalls to `<FOREMAN_TEST_LOOP_PROBE>.<pid>`. Tests read it with loopStalls().
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

/** One stretch in which no timer could fire: from `at - ms` to `at` (Date.now() milliseconds). */
export interface Stall {
  at: number;
  ms: number;
}

const BEAT_MS = 10;
/** Gaps this much past the beat are noted; shorter ones are the scheduler's noise. */
const NOTED_MS = 30;

const file = process.env.FOREMAN_TEST_LOOP_PROBE;
// The main thread only: worker threads and child processes may load this too.
if (file && isMainThread) {
  const stalls: Stall[] = [];
  let last = Date.now();
  setInterval(() => {
    const now = Date.now();
    if (now - last > BEAT_MS + NOTED_MS) stalls.push({ at: now, ms: now - last });
    last = now;
  }, BEAT_MS).unref();
  process.on('exit', () => writeFileSync(`${file}.${process.pid}`, JSON.stringify(stalls)));
}

/** The NODE_OPTIONS value that preloads this probe. */
export const LOOP_PROBE_OPTION = `--import=${fileURLToPath(import.meta.url)}`;

/** The stalls the probed process `pid` wrote as it exited. */
export function loopStalls(probeFile: string, pid: number): Stall[] {
  return JSON.parse(readFileSync(`${probeFile}.${pid}`, 'utf8')) as Stall[];
}

/** The longest stall that overlaps [from, to]. */
export function longestStallWithin(stalls: Stall[], from: number, to: number): number {
  return Math.max(0, ...stalls.filter((s) => s.at >= from && s.at - s.ms <= to).map((s) => s.ms - BEAT_MS));
}
