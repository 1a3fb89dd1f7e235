// The worker's jobs, as the intake, the scheduler and the worker read them from the queue.
import type { RunCaps } from '../runtime/store.ts';
import type { GitHubRunContext } from './run-registry.ts';

/** A run to start: queued by the intake (comments), labels, schedules and releases. */
export interface StartJob {
  context: GitHubRunContext;
  /** A branch to run on instead of the default one (schedules' `branches`). */
  branch?: string;
  /** A tag to run on (a published release); fixes target the default branch. */
  tag?: string;
}

/** A run to resume: `/workflow resume`, the Resume button, or a re-run of the summary check. */
export interface ResumeJob {
  runId: string;
  by: string;
  /** The caps of the default branch's config when the resume was asked for: how a cap is raised on GitHub. */
  caps?: RunCaps;
}

/** `/workflow save <name>`: a pull request adding a run's script to `.claude/workflows/`. */
export interface SaveJob {
  /** The run's registry entry. */
  entryId: number;
  name: string;
  author: string;
}

export const WORKER_JOB_KINDS = ['start', 'resume', 'save'] as const;

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
