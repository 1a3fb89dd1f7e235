// Preloaded into a foreman process under test (NODE_OPTIONS=--import, which worker threads load
// too): its wall clock reads FOREMAN_TEST_CLOCK_SHIFT_MS later than the real one, so a test can put
// a cron expression's next due minute a few seconds away instead of waiting for it. Timers and
// performance.now() are left alone: only what the process takes to be the time of day moves.
import { fileURLToPath } from 'node:url';

const shiftMs = Number(process.env.FOREMAN_TEST_CLOCK_SHIFT_MS ?? 0);
if (shiftMs) {
  const RealDate = Date;
  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + shiftMs);
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return RealDate.now() + shiftMs;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
}

/** The NODE_OPTIONS value that preloads this clock. */
export const SHIFTED_CLOCK_OPTION = `--import=${fileURLToPath(import.meta.url)}`;
