// Where one agent's time goes in the fan-out, segment by segment, on one clock for the bench's
// processes (performance.timeOrigin + now). The worker side notes when each agent (or each floor
// request) starts and finishes, and what undici says on its diagnostics channels: a request
// created, its headers written, the answer's headers read. The fake model notes when it read each
// request and when it answered. Each segment is the mean over agents (meanGap). The processes share
// one machine's clock (performance.timeOrigin + now): fine on one host for sub-millisecond hops.
import diagnostics from 'node:diagnostics_channel';
import type { FakeRequest } from '../test/support/fake-anthropic.ts';

export interface Timeline {
  started: number[];
  created: number[];
  sent: number[];
  headers: number[];
  finished: number[];
}

const now = (): number => performance.timeOrigin + performance.now();

/** Starts noting undici's events in this process; `started`/`finished` are the caller's to note. */
export function recordTimeline(): { note(kind: 'started' | 'finished'): void; result(): Timeline } {
  const timeline: Timeline = { started: [], created: [], sent: [], headers: [], finished: [] };
  diagnostics.subscribe('undici:request:create', () => timeline.created.push(now()));
  diagnostics.subscribe('undici:client:sendHeaders', () => timeline.sent.push(now()));
  diagnostics.subscribe('undici:request:headers', () => timeline.headers.push(now()));
  return { note: (kind) => timeline[kind].push(now()), result: () => timeline };
}

const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

/**
 * The mean time from one kind of mark to the next: the mean of the k-th differences, which is the
 * difference of the means however the order shuffles. Both kinds must have been marked as often
 * (one per agent), or the figure would mix agents: a mismatch is an error, not a number.
 */
function meanGap(later: readonly number[], earlier: readonly number[]): number {
  if (later.length !== earlier.length || later.length === 0) throw new Error(`timeline: ${later.length} marks against ${earlier.length}; every agent should have one of each`);
  return mean(later) - mean(earlier);
}

/** The fake's own times on the shared clock. */
export function serverTimes(requests: readonly FakeRequest[]): { read: number[]; answered: number[] } {
  const origin = performance.timeOrigin;
  return { read: requests.map((r) => origin + r.receivedAt), answered: requests.map((r) => origin + (r.respondedAt ?? r.receivedAt)) };
}

export const SEGMENTS = [
  'start -> request created (runtime + SDK)',
  'created -> headers written (undici)',
  'written -> the server has read it',
  'the server\'s latency',
  'answered -> headers read',
  'headers read -> finished (SDK + runtime)',
] as const;

/** The mean of each segment, in ms, in SEGMENTS' order. */
export function segments(t: Timeline, server: { read: number[]; answered: number[] }): number[] {
  return [
    meanGap(t.created, t.started),
    meanGap(t.sent, t.created),
    meanGap(server.read, t.sent),
    meanGap(server.answered, server.read),
    meanGap(t.headers, server.answered),
    meanGap(t.finished, t.headers),
  ];
}
