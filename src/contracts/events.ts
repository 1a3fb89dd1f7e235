// What a run reports while it happens. Front doors render these (live table, lines, check runs).
import type { CapKind } from './caps.ts';
import type { Usage } from './usage.ts';

export type { CapKind } from './caps.ts';

/** 'stopped': aborted by a stop of the run (Ctrl-C) or a cap, as the store records it; not a failure. */
export type AgentEventStatus = 'done' | 'failed' | 'stopped' | 'replayed';

export type RunEvent =
  | {
      type: 'run-started';
      runId: string;
      workflow: string;
      baseSha: string;
      resumed: boolean;
      replayable: number;
      /** A resume with an edited script or new args (`foreman resume --script/--args`, `/workflow resume`). */
      edited?: RunEdit[];
    }
  | { type: 'phase'; title: string }
  | { type: 'log'; message: string }
  | { type: 'warn'; message: string }
  | { type: 'agent-queued'; phase: string; label: string }
  | { type: 'agent-started'; phase: string; label: string }
  | {
      type: 'agent-finished';
      phase: string;
      label: string;
      status: AgentEventStatus;
      usage: Usage;
      costUsd: number;
      elapsedMs: number;
      error?: string;
    }
  /**
   * A queued agent that never ran: a cap (cap says which) or a stop (cap null) refused it. The
   * script's agent() call throws; this is the one place the refusal is reported.
   */
  | { type: 'agent-refused'; phase: string; label: string; cap: CapKind | null; reason: string }
  | { type: 'change-made'; changeId: string; label: string; files: number; candidate: boolean }
  | { type: 'gate-started'; changeId: string; label: string }
  | { type: 'gate-finished'; changeId: string; label: string; passed: boolean; durationMs: number; failedStep?: string }
  | { type: 'change-proposed'; changeId: string; label: string; branch: string; url: string | null; created: boolean }
  | { type: 'change-discarded'; changeId: string; label: string }
  | { type: 'run-finished'; status: string; error?: string };

/** What a resume changed since the run's last attempt. */
export type RunEdit = 'script' | 'args';

export type RunListener = (event: RunEvent) => void;
