// The App's jobs: the deliveries the webhook handlers queue for the intake, and the runs the intake
// and the scheduler queue for the worker. AppJobs is the queue's job map (src/contracts/queue.ts):
// each kind's payload is typed where it is enqueued and narrowed where it is claimed.
import type { WorkQueue } from '../contracts/queue.ts';
import type { RunCaps } from '../runtime/store.ts';
import type { CommentJob, DeliveredRepository } from './deliveries.ts';
import type { GitHubRunContext } from './run-registry.ts';

/** A Stop or Resume button on a summary check, or a re-run of one of a run's checks. */
export interface CheckActionJob {
  deliveryId: string;
  installationId: number;
  owner: string;
  repo: string;
  /** The check's external_id: the run id. */
  runId: string;
  action: 'stop' | 'resume';
  author: string;
}

/** A label put on an issue or pull request, or a published release: starts what the config maps it to. */
export interface EventJob extends DeliveredRepository {
  deliveryId: string;
  event: 'label' | 'release';
  /** The label's name, or the release's tag. */
  name: string;
  issueNumber: number | null;
  isPullRequest: boolean;
  author: string;
}

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
  /** `/workflow resume <run> <args>`: the run continues with these args (wrapped: null is args too). */
  args?: { value: unknown };
}

/** `/workflow save <name>`: a pull request adding a run's script to `.claude/workflows/`. */
export interface SaveJob {
  /** The run's registry entry. */
  entryId: number;
  name: string;
  author: string;
}

/** Job kind → payload, for every job the App queues. */
export interface AppJobs {
  comment: CommentJob;
  'check-action': CheckActionJob;
  event: EventJob;
  start: StartJob;
  resume: ResumeJob;
  save: SaveJob;
}

export type AppQueue = WorkQueue<AppJobs>;

/**
 * Queue priorities: what someone asked for on GitHub (a comment, a button, a label) is claimed
 * before scheduled runs and release sweeps, even those queued earlier.
 */
export const ASKED_PRIORITY = 10;
export const SWEEP_PRIORITY = 0;

/** What the worker claims: runs to start or resume, scripts to save. */
export const WORKER_JOB_KINDS = ['start', 'resume', 'save'] as const satisfies ReadonlyArray<keyof AppJobs>;

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
