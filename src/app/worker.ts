// The worker: executes runs the webhook side queued. It clones (partially, with a token scoped to
// the one repository), pins the base, runs the workflow through the same service as the CLI, and
// reports to GitHub as it goes. It never holds the App's private key: tokens come from a
// TokenSource (the webhook process, over IPC, when forked by `foreman app`).
import type { Sandbox, SandboxUnavailable } from '../workspace/sandbox.ts';
import { join } from 'node:path';
import { ProbotOctokit } from 'probot';
import type { RunOutcome } from '../runtime/engine.ts';
import { CAP_CONFIG_KEYS } from '../contracts/caps.ts';
import type { CapKind } from '../contracts/events.ts';
import type { JobOf } from '../contracts/queue.ts';
import type { RunCaps } from '../runtime/store.ts';
import { resumeRun, startRun, type ResumeRequest, type ServiceEnv } from '../service/runs.ts';
import { CONFIG_DEFAULTS } from '../config/schema.ts';
import { tokenSourceAuth, type TokenSource } from '../github/installation.ts';
import { GitHubProposer } from '../github/proposer.ts';
import { GitHubRunReport } from '../github/run-report.ts';
import { inertMarkdown } from '../report/inert-markdown.ts';
import { inlineCode } from '../report/markdown.ts';
import { workflowDirs, WorkflowNotFoundError } from '../workflows/load.ts';
import { validateScript, type ValidatedScript } from '../workflows/validate.ts';
import { busyMessage, type GitHubRunContext, type GitHubRunEntry, type RunRegistry } from './run-registry.ts';
import { planComment } from '../report/plan-comment.ts';
import { saveWorkflow } from './saved-workflows.ts';
import { ClaimLoop } from './claim-loop.ts';
import { fenceWrites, JobLease, LeaseLostError } from './job-lease.ts';
import { fetchRun, fetchRunNow, prepareRun, type CloneAccess } from './run-preparation.ts';
import { needsApproval, savedScriptNow, scriptForRun } from './run-script.ts';
import { pollStopRequests } from './stop-poll.ts';
import { postComment } from '../policy/comments.ts';
import { isSweepTrigger } from '../policy/trigger.ts';
import { WORKER_JOB_KINDS, type AppJobs, type AppQueue, type Logger, type ResumeJob, type SaveJob, type StartJob } from './jobs.ts';

type WorkerJob = JobOf<AppJobs, (typeof WORKER_JOB_KINDS)[number]>;

export type { Logger, ResumeJob, SaveJob, StartJob } from './jobs.ts';
export { WORKER_JOB_KINDS } from './jobs.ts';

export interface WorkerOptions {
  queue: AppQueue;
  registry: RunRegistry;
  /** Identifies this worker's claims in the queue. */
  holder: string;
  /** $FOREMAN_HOME: the store (unless databaseUrl), clones and worktrees. */
  home: string;
  /** DATABASE_URL: the run store is in PostgreSQL, shared with workers on other hosts. */
  databaseUrl?: string;
  builtinDir: string;
  tokens: TokenSource;
  /** GitHub's REST base URL (githubApiUrl()). */
  apiUrl: string;
  /** The Octokit class: ProbotOctokit, with its retries and rate-limit handling. */
  Octokit?: typeof ProbotOctokit;
  anthropic: { apiKey?: string; baseURL?: string };
  /** What gate and agent commands start from; the service removes secrets. */
  commandEnv: NodeJS.ProcessEnv;
  /**
   * The sandbox repository code runs in: detected, never off. When it is unavailable every gate
   * step and command is refused with the reason and the fix.
   */
  sandbox: Sandbox | SandboxUnavailable;
  log: Logger;
  version: string;
  /** Runs this worker executes at once (default 2). */
  maxRuns?: number;
  pollMs?: number;
  /** How often a running run looks for a stop request (default 1 s). */
  stopPollMs?: number;
  reportIntervalMs?: number;
  /** How often a claimed job's lease is renewed (default: a third of the queue's lease; 10 s when claims do not expire). */
  leaseHeartbeatMs?: number;
}

type Rest = InstanceType<typeof ProbotOctokit>;

export class ForemanWorker {
  readonly #o: WorkerOptions;
  readonly #claims: ClaimLoop<AppJobs, (typeof WORKER_JOB_KINDS)[number]>;
  readonly #controllers = new Set<AbortController>();

  constructor(options: WorkerOptions) {
    this.#o = options;
    this.#claims = new ClaimLoop({
      queue: options.queue,
      kinds: WORKER_JOB_KINDS,
      holder: options.holder,
      capacity: options.maxRuns ?? 2,
      keepAlive: true,
      ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
      handle: (job) => this.#handle(job),
    });
  }

  get #stopped(): boolean {
    return this.#claims.stopped;
  }

  start(): void {
    this.#claims.start();
  }

  /** Another process queued work: look now rather than at the next poll. */
  wake(): void {
    this.#claims.wake();
  }

  /** Stops claiming, stops the runs in hand (they stay resumable) and waits for them. */
  async stop(): Promise<void> {
    const stopping = this.#claims.stop();
    for (const controller of this.#controllers) controller.abort();
    await stopping;
  }

  async #handle(job: WorkerJob): Promise<void> {
    const lease = new JobLease(this.#o.queue, job, {
      ...(this.#o.leaseHeartbeatMs !== undefined ? { periodMs: this.#o.leaseHeartbeatMs } : {}),
      onLost: (error) => this.#o.log.warn({ job: job.id, kind: job.kind, err: error }, 'lease lost: the job is another worker\'s now, this one stops it and writes nothing more for it'),
    });
    try {
      if (job.kind === 'start') await this.#start(job.payload, job.key, lease);
      else if (job.kind === 'save') await this.#save(job.payload, lease);
      else await this.#resume(job.payload, job.key, lease);
      // The worker that claimed it again settles it: finishing here would settle its claim's work.
      if (lease.current()) await this.#o.queue.finish(job);
    } catch (error) {
      if (!lease.current()) return;
      if (error instanceof ShutDown) {
        // Back in line: the next worker resumes the run from its journal (registry.begin's `again`).
        await this.#o.queue.release(job);
        return;
      }
      this.#o.log.error({ job: job.id, kind: job.kind, err: error }, 'worker job failed');
      await this.#o.queue.finish(job, error instanceof Error ? error.message : String(error));
    } finally {
      lease.stop();
    }
  }

  /** An Octokit for one job's GitHub calls: each write first checks that the job's lease is still this worker's. */
  #octokit(context: GitHubRunContext, lease: JobLease): Rest {
    const Octokit = this.#o.Octokit ?? ProbotOctokit;
    const octokit = new Octokit({
      authStrategy: tokenSourceAuth,
      auth: { tokens: this.#o.tokens, installationId: context.installationId, repository: context.repo },
      baseUrl: this.#o.apiUrl,
    } as any);
    return fenceWrites(octokit, lease);
  }

  async #token(context: GitHubRunContext): Promise<string> {
    return (await this.#o.tokens.installationToken(context.installationId, context.repo)).token;
  }

  async #start(job: StartJob, key: string, lease: JobLease): Promise<void> {
    const { registry, holder } = this.#o;
    const octokit = this.#octokit(job.context, lease);
    const begun = await registry.begin(job.context, { key, holder: this.#o.holder });
    if ('busy' in begun) {
      await this.#say(octokit, job.context, busyMessage(begun.busy));
      return;
    }
    // A worker died after the run ended but before it settled the job: settled now, nothing replayed.
    if ('done' in begun) return;
    if ('again' in begun && begun.again.runId) {
      // A worker died with this job in hand after the run existed: resume it, finished agents stay paid for.
      await this.#continue(begun.again, 'the worker restarted', lease);
      return;
    }
    const entry = 'again' in begun ? begun.again : begun.begun;
    const context: GitHubRunContext = { ...job.context };
    const repo = `${context.owner}/${context.repo}`;
    let report: GitHubRunReport | null = null;
    try {
      this.#o.log.info({ repo, issue: context.issueNumber, workflow: context.workflow }, 'preparing a run');
      const prepared = await prepareRun(octokit, context, job, this.#access);
      Object.assign(context, prepared.context);
      this.#o.log.info({ repo, head: context.headSha, fork: context.fork }, 'repository ready');
      await registry.update(entry.id, context, holder);
      const dirs = workflowDirs(prepared.workflowRoot, this.#noUserHome(), this.#o.builtinDir);
      const script = await scriptForRun(context, dirs, this.#o.home, this.#o.anthropic);
      const validated = validateScript(script.source, script.file);
      const generated = script.origin === 'generated';
      if (needsApproval(context, script)) {
        await this.#askForApproval(entry.id, context, validated, generated ? { source: script.source, file: script.file } : null, lease);
        return;
      }
      report = this.#report(octokit, context, (validated.meta.phases ?? []).map((p) => p.title));
      const args = context.args ?? prepared.pullRequestArgs;
      const request = { ref: context.workflow, args, repoDir: prepared.clone, base: context.headSha!, ...(generated ? { script: { source: script.source, file: script.file } } : {}) };
      const outcome = await this.#execute(entry.id, context, report, prepared.workflowRoot, lease, (env) => startRun(request, env));
      await this.#ended(entry.id, outcome);
    } catch (error) {
      if (handedOn(error, lease)) throw error;
      await registry.end(entry.id, 'failed', holder);
      const reason = this.#publicReason(error);
      if (report) await report.failedToStart(reason);
      else await this.#say(octokit, context, `Foreman could not start ${inlineCode(context.workflow)}: ${reason}`);
      this.#o.log.warn({ repo, err: error }, 'run did not start');
    }
  }

  async #resume(job: ResumeJob, key: string, lease: JobLease): Promise<void> {
    const known = await this.#o.registry.get(job.runId);
    if (!known) throw new Error(`run ${job.runId} was not started from GitHub here`);
    const again = await this.#o.registry.reactivate(job.runId, this.#o.holder, key);
    if (!again) throw new Error(`run ${job.runId} is gone`);
    if ('busy' in again) {
      await this.#say(this.#octokit(known.context, lease), known.context, busyMessage(again.busy));
      return;
    }
    if ('done' in again) return;
    await this.#continue('begun' in again ? again.begun : again.again, `resumed by @${job.by}`, lease, { caps: job.caps ?? {}, asked: job });
  }

  /**
   * Resumes a registered run from its journal, reporting to the same comment. A resume someone
   * `asked` for runs the saved workflow as the default branch has it now (an edited script replays
   * the calls that still match), with their new args if any; a worker's restart runs what it ran.
   */
  async #continue(entry: GitHubRunEntry, why: string, lease: JobLease, resume: { caps?: RunCaps; asked?: ResumeJob } = {}): Promise<void> {
    const context = entry.context;
    const runId = entry.runId!;
    const octokit = this.#octokit(context, lease);
    try {
      const { clone, workflowRoot } = resume.asked ? await fetchRunNow(context, this.#access) : await fetchRun(context, [context.headSha!, context.defaultSha!], this.#access);
      const script = resume.asked ? await savedScriptNow(context, workflowDirs(workflowRoot, this.#noUserHome(), this.#o.builtinDir)) : null;
      // This worker's clone, not the one the run started in: that may be another worker's. The
      // queue's lease for the run is this worker's, so whoever held the run before lost it.
      const request: ResumeRequest = { repoDir: clone, takeOver: true, caps: resume.caps ?? {}, ...(script ? { script: { savedNow: script } } : {}), ...(resume.asked?.args ? { args: resume.asked.args } : {}) };
      const report = this.#report(octokit, { ...context, trigger: `${context.trigger}, ${why}` }, []);
      const outcome = await this.#execute(entry.id, context, report, workflowRoot, lease, (env) => resumeRun(runId, env, request), runId);
      await this.#ended(entry.id, outcome);
    } catch (error) {
      if (handedOn(error, lease)) throw error;
      await this.#o.registry.end(entry.id, 'failed', this.#o.holder);
      await this.#say(octokit, context, `Foreman could not resume run \`${runId}\`: ${this.#publicReason(error)}`);
    }
  }

  /** `/workflow save`: the pull request is saved-workflows.ts's; the answer goes where it was asked. */
  async #save(job: SaveJob, lease: JobLease): Promise<void> {
    const entry = await this.#o.registry.byId(job.entryId);
    if (!entry) throw new Error(`registry entry ${job.entryId} is gone`);
    const octokit = this.#octokit(entry.context, lease);
    await this.#say(octokit, entry.context, await saveWorkflow(octokit, entry, job, this.#o.home, this.#o.databaseUrl));
  }

  /** Shows the plan (and a generated script) and parks the run until `/workflow approve`. */
  async #askForApproval(entryId: number, context: GitHubRunContext, script: ValidatedScript, generated: { source: string; file: string } | null, lease: JobLease): Promise<void> {
    const waiting: GitHubRunContext = { ...context, awaitingApproval: true, ...(generated ? { script: generated } : {}) };
    await this.#o.registry.update(entryId, waiting, this.#o.holder);
    await this.#o.registry.end(entryId, 'awaiting-approval', this.#o.holder);
    await this.#say(this.#octokit(context, lease), context, planComment(context.trigger, script, generated !== null));
  }

  get #access(): CloneAccess {
    return { home: this.#o.home, token: (context) => this.#token(context) };
  }

  #report(octokit: Rest, context: GitHubRunContext, plan: string[]): GitHubRunReport {
    return new GitHubRunReport(
      {
        octokit,
        owner: context.owner,
        repo: context.repo,
        headSha: context.headSha!,
        issueNumber: context.issueNumber,
        progressCommentId: context.progressCommentId ?? null,
        workflow: context.workflow,
        trigger: context.trigger,
        plan,
        sarif: context.config.sarif
          ? { ref: context.isPullRequest ? `refs/pull/${context.issueNumber}/head` : context.tag ? `refs/tags/${context.tag}` : `refs/heads/${context.targetBranch}` }
          : null,
        version: this.#o.version,
      },
      {
        ...(this.#o.reportIntervalMs !== undefined ? { intervalMs: this.#o.reportIntervalMs } : {}),
        onError: (error, what) => this.#o.log.warn({ repo: `${context.owner}/${context.repo}`, err: error }, `GitHub report: ${what} failed`),
      },
    );
  }

  /** Runs (or resumes) with the GitHub proposer, the report as listener, and stop requests polled. */
  async #execute(
    entryId: number,
    context: GitHubRunContext,
    report: GitHubRunReport,
    workflowRoot: string,
    lease: JobLease,
    go: (env: ServiceEnv) => Promise<RunOutcome>,
    knownRunId?: string,
  ): Promise<RunOutcome> {
    const controller = new AbortController();
    this.#controllers.add(controller);
    // A lost lease stops the run as a shutdown does; the worker that claimed the job again resumes it.
    const unlinkLease = lease.stops(controller);
    let runId = knownRunId ?? null;
    const stopPolling = pollStopRequests(this.#o.registry, () => runId, controller, this.#o.stopPollMs);
    const untrusted =
      context.fork && !context.approvedBy
        ? `this pull request's code comes from a fork; a maintainer's \`/workflow approve\` lets Foreman build, test and propose it`
        : undefined;
    try {
      const held = new Set<string>();
      const runToken = async (): Promise<string> => {
        const token = await this.#token(context);
        held.add(token);
        return token;
      };
      await runToken();
      const outcome = await go({
        home: this.#o.home,
        ...(this.#o.databaseUrl ? { databaseUrl: this.#o.databaseUrl } : {}),
        userHome: this.#noUserHome(),
        builtinDir: this.#o.builtinDir,
        apiKey: this.#o.anthropic.apiKey,
        baseURL: this.#o.anthropic.baseURL,
        listener: report.listener,
        signal: controller.signal,
        commandEnv: this.#o.commandEnv,
        sandbox: this.#o.sandbox,
        // The installation token is never in the environment; held here in case a copy is. It is
        // replaced while a long run goes on, and every token handed out for the run joins the set.
        commandSecrets: held,
        howToResume: appResumeAdvice,
        // What limits.spend counts against: the repository by name (whatever clone runs it) and its installation.
        spendScopes: { repository: `${context.owner}/${context.repo}`, installation: String(context.installationId) },
        // Other people's comments and code: an agent that can fetch could carry the repository out.
        webByDefault: CONFIG_DEFAULTS.agents.web.byDoor.app,
        priority: isSweepTrigger(context.trigger) ? 'sweep' : 'interactive',
        config: context.config,
        workflowRoot,
        // Agent types and CLAUDE.md, like saved workflows, from the default branch.
        projectCommit: context.defaultSha!,
        ...(untrusted ? { untrusted } : {}),
        proposer: this.#proposer(context, lease, runToken),
        onRunId: async (id) => {
          runId = id;
          await this.#attach(entryId, context, report, id);
        },
      });
      // Asked afresh, once per run: a run whose job another worker now holds is reported by that worker alone.
      await lease.confirm();
      // Stopped because this worker is shutting down: the run is handed on (#ended), not over.
      if (this.#stopped && outcome.status === 'stopped') await report.paused();
      else await report.finish(outcome);
      // The operator's one line per run: which run, where, and how it ended.
      this.#o.log.info({ repo: `${context.owner}/${context.repo}`, issue: context.issueNumber, run: outcome.runId, status: this.#stopped && outcome.status === 'stopped' ? 'paused' : outcome.status, costUsd: Number(outcome.summary.costUsd.toFixed(4)) }, `run ${outcome.runId} ${outcome.status}`);
      return outcome;
    } finally {
      unlinkLease();
      stopPolling();
      this.#controllers.delete(controller);
    }
  }

  /**
   * The run's id on its registry entry, durable before any agent runs: a worker that takes the job
   * over finds the run by it and resumes it; without it, it would start a second run (and spend,
   * and propose, twice). The progress comment's id follows once the report has posted it.
   */
  async #attach(entryId: number, context: GitHubRunContext, report: GitHubRunReport, id: string): Promise<void> {
    await this.#o.registry.attach(entryId, id);
    void report
      .started(id)
      .then(async () => {
        const commentId = await report.commentId;
        if (commentId !== null && commentId !== context.progressCommentId) {
          context.progressCommentId = commentId;
          await this.#o.registry.update(entryId, context, this.#o.holder);
        }
      })
      .catch((error: unknown) => this.#o.log.warn({ repo: `${context.owner}/${context.repo}`, run: id, err: error }, 'recording the progress comment failed'));
  }

  /** The run's proposer: its pull requests and every git call (its pushes) are fenced by the job's lease. */
  #proposer(context: GitHubRunContext, lease: JobLease, runToken: () => Promise<string>): (repoDir: string) => GitHubProposer {
    return (repoDir) =>
      new GitHubProposer({
        octokit: this.#octokit(context, lease),
        owner: context.owner,
        repo: context.repo,
        repoDir,
        remoteUrl: context.cloneUrl,
        token: async () => {
          await lease.fence();
          return runToken();
        },
        baseBranch: context.targetBranch!,
      });
  }

  /** Records how a run ended; one this worker stopped because it is shutting down is handed on instead. */
  async #ended(entryId: number, outcome: RunOutcome): Promise<void> {
    if (this.#stopped && outcome.status === 'stopped') {
      await this.#o.registry.end(entryId, 'interrupted', this.#o.holder);
      throw new ShutDown();
    }
    await this.#o.registry.end(entryId, outcome.status, this.#o.holder);
  }

  /**
   * Why a run did not start or resume, for a comment anyone may read: the server's own paths are
   * not shown, and advice is GitHub's (`/workflow list`), not the CLI's.
   */
  #publicReason(error: unknown): string {
    // A message may quote the model (a generated script that failed): inert, like all its text.
    // It follows "could not start …: " on the same line.
    const message = inertMarkdown((error instanceof Error ? error.message : String(error)).replaceAll(this.#o.home, '$FOREMAN_HOME'), { midLine: true });
    return error instanceof WorkflowNotFoundError && error.available.length > 0 ? `${message} \`/workflow list\` shows them with their descriptions.` : message;
  }

  /** Runs from GitHub never read the server's own ~/.claude/workflows. */
  #noUserHome(): string {
    return join(this.#o.home, 'github', 'no-user-workflows');
  }

  async #say(octokit: Rest, context: GitHubRunContext, body: string): Promise<void> {
    await postComment(octokit, { owner: context.owner, repo: context.repo, issueNumber: context.issueNumber }, body);
  }
}

/** The worker is shutting down: the job goes back in line rather than being finished. */
class ShutDown extends Error {}

/** The job is not over for this worker to record: it is shutting down, or another worker holds the job now. */
function handedOn(error: unknown, lease: JobLease): boolean {
  return error instanceof ShutDown || error instanceof LeaseLostError || !lease.current();
}

/** On GitHub a cap is raised in the default branch's config, which a resume reads again. */
function appResumeAdvice(runId: string, cap: CapKind | null): string {
  const resume = `\`/workflow resume ${runId}\` or the **Resume** button continues it`;
  if (cap === 'spend') return `${resume} once the cap resets, or at once after raising \`${CAP_CONFIG_KEYS.spend}\` in \`.github/foreman.yml\` on the default branch`;
  return cap ? `raise \`${CAP_CONFIG_KEYS[cap]}\` in \`.github/foreman.yml\` on the default branch, then ${resume}` : resume;
}
