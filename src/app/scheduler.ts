// Scheduled runs (config `schedules:`): every minute (FOREMAN_SCHEDULE_INTERVAL_MS) the app reads
// the schedules of the repositories it is installed on and queues the runs that fell due since its
// last look. Every replica does this; the queue's job key (repository, schedule, branch, due time)
// makes each due run one job however many replicas saw it: the lock is the store's unique key.
import { Cron } from 'croner';
import type { Probot } from 'probot';
import { ConfigError } from '../config/load.ts';
import type { ForemanConfig } from '../config/schema.ts';
import { compileGlob, GlobError, type GlobMatcher } from '../workspace/glob.ts';
import { deliveredRepository, type DeliveredRepository } from './deliveries.ts';
import { readRepositoryConfig } from './intake.ts';
import { SWEEP_PRIORITY, type AppQueue, type StartJob } from './jobs.ts';
import { scheduledStart, scheduleTrigger } from '../policy/trigger.ts';

export type InstalledRepository = DeliveredRepository;

/** What the scheduler needs to know of GitHub. */
export interface ScheduleSource {
  repositories(): Promise<InstalledRepository[]>;
  /** The repository's config; null when it has none. Invalid configs throw ConfigError. */
  config(repository: InstalledRepository): Promise<ForemanConfig | null>;
  branches(repository: InstalledRepository): Promise<string[]>;
}

export interface SchedulerOptions {
  queue: AppQueue;
  source: ScheduleSource;
  onQueued?: () => void;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export class Scheduler {
  readonly #o: SchedulerOptions;
  #timer: NodeJS.Timeout | null = null;
  /** The queue write in hand, if any: the only part of a look that stop() waits for. */
  #writing: Promise<unknown> = Promise.resolve();
  readonly #stop = new AbortController();

  constructor(options: SchedulerOptions) {
    this.#o = options;
  }

  /** Looks every `intervalMs` (default a minute). Runs that fell due while no replica was up are not made up for. */
  start(intervalMs = 60_000): void {
    let last = new Date();
    // The next look is timed from the end of this one: a slow GitHub never has two looks in flight.
    const look = () => {
      this.#timer = setTimeout(() => {
        const now = new Date();
        const from = last;
        last = now;
        this.tick(from, now)
          .catch((error) => this.#stop.signal.aborted || this.#o.log.warn({ err: error }, 'schedules could not be read'))
          .finally(() => this.#stop.signal.aborted || look());
      }, intervalMs);
      this.#timer.unref();
    };
    look();
  }

  /**
   * Waits only for a queue write in hand. A look that is reading GitHub (which, unreachable, keeps
   * Octokit retrying for many seconds) is left behind and queues nothing more: the runs it would
   * have queued are not made up for, as for any time no replica was up.
   */
  async stop(): Promise<void> {
    this.#stop.abort();
    if (this.#timer) clearTimeout(this.#timer);
    await this.#writing;
  }

  /** Whether a branch matches one of the schedule's globs; a refused glob matches nothing and is logged. */
  #branchFilter(repository: InstalledRepository, index: number, globs: readonly string[]): (branch: string) => boolean {
    const matchers: GlobMatcher[] = [];
    for (const glob of globs) {
      try {
        matchers.push(compileGlob(glob));
      } catch (error) {
        if (!(error instanceof GlobError)) throw error;
        this.#o.log.warn({ repo: `${repository.owner}/${repository.repo}`, err: `schedules[${index}].branches: ${error.message}` }, 'a schedule branch glob was skipped');
      }
    }
    return (branch) => matchers.some((matches) => matches(branch));
  }

  /** Queues the runs due in (from, to]; returns how many this call created. */
  async tick(from: Date, to: Date): Promise<number> {
    let created = 0;
    repositories: for (const repository of await this.#o.source.repositories()) {
      let config: ForemanConfig | null;
      try {
        config = await this.#o.source.config(repository);
      } catch (error) {
        // One repository's broken config or unreadable file must not cost the others their schedules.
        this.#o.log.warn({ repo: `${repository.owner}/${repository.repo}`, err: error instanceof ConfigError ? error.message : error }, 'schedules skipped: the config could not be read');
        continue;
      }
      const schedules = config?.schedules ?? [];
      for (const [index, schedule] of schedules.entries()) {
        const due = dueTimes(schedule.cron, schedule.timezone, from, to);
        if (due.length === 0) continue;
        const branches = schedule.branches ? (await this.#o.source.branches(repository)).filter(this.#branchFilter(repository, index, schedule.branches)) : [repository.defaultBranch];
        for (const at of due) {
          for (const branch of branches) {
            const job: StartJob = {
              context: {
                installationId: repository.installationId,
                owner: repository.owner,
                repo: repository.repo,
                cloneUrl: repository.cloneUrl,
                defaultBranch: repository.defaultBranch,
                issueNumber: null,
                isPullRequest: false,
                trigger: scheduleTrigger(schedule.cron, branch),
                author: null,
                ...scheduledStart(schedule),
                config: config!,
              },
              branch,
            };
            const key = `schedule:${repository.owner}/${repository.repo}:${index}:${schedule.cron}:${schedule.workflow}:${branch}:${at.toISOString()}`;
            if (this.#stop.signal.aborted) break repositories;
            const writing = this.#o.queue.enqueue('start', key, job, { priority: SWEEP_PRIORITY });
            this.#writing = writing.catch(() => {});
            const { created: isNew } = await writing;
            if (isNew) created++;
          }
        }
      }
    }
    if (created > 0) this.#o.onQueued?.();
    return created;
  }
}

/** The times in (from, to] a cron expression names; a minute at most in practice. */
export function dueTimes(cron: string, timezone: string | undefined, from: Date, to: Date): Date[] {
  const pattern = new Cron(cron, { paused: true, ...(timezone ? { timezone } : {}) });
  const times: Date[] = [];
  for (let next = pattern.nextRun(from); next && next <= to && times.length < 60; next = pattern.nextRun(next)) times.push(next);
  return times;
}

/** The App's installations and repositories through Probot: the app's JWT, then each installation's token. */
export function probotScheduleSource(app: Probot): ScheduleSource {
  // Probot caches installation tokens until shortly before they expire.
  const installationOctokit = (id: number): Promise<any> => app.auth(id);
  return {
    async repositories() {
      const appOctokit: any = await app.auth();
      const installations = await appOctokit.paginate('GET /app/installations', { per_page: 100 });
      const all: InstalledRepository[] = [];
      for (const installation of installations) {
        const octokit = await installationOctokit(installation.id);
        const repos = await octokit.paginate('GET /installation/repositories', { per_page: 100 });
        for (const r of repos) {
          if (r.archived) continue;
          all.push(deliveredRepository(installation, r));
        }
      }
      return all;
    },
    async config(repository) {
      const config = await readRepositoryConfig(await installationOctokit(repository.installationId), repository.owner, repository.repo);
      return Object.keys(config).length === 0 ? null : config;
    },
    async branches(repository) {
      const octokit = await installationOctokit(repository.installationId);
      const branches = await octokit.paginate('GET /repos/{owner}/{repo}/branches', { owner: repository.owner, repo: repository.repo, per_page: 100 });
      return branches.map((b: { name: string }) => b.name);
    },
  };
}
