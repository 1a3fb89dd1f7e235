// The one schema for `.github/foreman.yml`. Later front doors derive the JSON Schema from it.

/** The most agents one run may be allowed, by config or by the CLI's --max-agents. */
export const MAX_AGENTS_PER_RUN = 100_000;
/**
 * A script's own CPU time (agents' waiting is free): the script only orchestrates, so minutes of
 * it are a loop gone wrong, and one run must not hold a shared host's CPU for longer.
 */
export const MAX_SCRIPT_CPU_MS = 300_000;
/** A run's wall clock: GitHub's own ceiling for a hosted job, 6 hours. */
export const MAX_RUN_WALL_MS = 21_600_000;
import { z } from 'zod';

const price = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cacheRead: z.number().nonnegative(),
  cacheWrite: z.number().nonnegative(),
});

/** A workflow a GitHub event starts: its name, or the name and its args. */
const workflowStart = z.union([
  z.string().min(1),
  z.strictObject({
    workflow: z.string().min(1).describe("A saved or built-in workflow's name, e.g. 'audit'"),
    args: z.unknown().optional().describe('What the workflow gets as `args`'),
  }),
]);

export const configSchema = z.strictObject({
  models: z
    .strictObject({
      default: z.string().min(1).optional().describe('Model id or alias used when a script names none'),
      aliases: z.record(z.string(), z.string().min(1)).optional().describe('Alias → model id, merged over the built-in haiku/sonnet/opus'),
      prices: z.record(z.string(), price).optional().describe('Model id → USD per million tokens, merged over the built-in table'),
    })
    .optional(),
  limits: z
    .strictObject({
      concurrency: z.int().min(1).max(256).optional().describe('Agents at once (default 16)'),
      agentsPerRun: z.int().min(1).max(MAX_AGENTS_PER_RUN).optional().describe('Agents one run may start (default 1000)'),
      maxTurns: z.int().min(1).max(1000).optional().describe('Model turns one agent may take (default 50)'),
      budgetTokens: z.int().min(1).optional().describe('Token ceiling per run'),
      maxCostUsd: z.number().positive().optional().describe('USD ceiling per run'),
      memoryMb: z.int().min(16).max(4096).optional().describe('Sandbox memory limit (default 128)'),
      cpuMs: z.int().min(100).max(MAX_SCRIPT_CPU_MS).optional().describe('Script CPU time limit in ms (default 10000, at most 300000)'),
      wallMs: z.int().min(1000).max(MAX_RUN_WALL_MS).optional().describe('Run wall-clock limit in ms (default 3600000, at most 21600000: 6 hours)'),
    })
    .optional(),
  agents: z
    .strictObject({
      commands: z
        .array(z.string().min(1))
        .optional()
        .describe("Commands write agents may run with run_command, e.g. 'npm test' or 'npx eslint **'. '*' matches one argument, a final '**' any remaining ones. Default: none"),
      commandTimeoutMs: z.int().min(1000).optional().describe('Timeout of one run_command (default 120000)'),
    })
    .optional(),
  gate: z
    .strictObject({
      setup: z.string().min(1).optional().describe("Installs dependencies, e.g. 'npm ci'. Detected from the lockfile when absent"),
      build: z.string().min(1).optional().describe("Builds the project, e.g. 'npm run build'"),
      test: z.string().min(1).describe("Runs the tests, e.g. 'npm test'. Required when gate is set"),
      timeoutMs: z.int().min(1000).optional().describe('Timeout of each gate step (default 600000)'),
      concurrency: z.int().min(1).max(64).optional().describe("This run's gates at once, at most the number of CPU cores: every run in a process shares one pool of that size (default: the whole pool)"),
    })
    .optional(),
  sandbox: z
    .strictObject({
      network: z
        .array(z.string().regex(/^(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/, "a host name, '*.domain' or 'host:port'"))
        .optional()
        .describe("Hosts the gate's setup step (dependency install) may reach through the sandbox's proxy: 'registry.npmjs.org', '*.example.com' or 'host:port'. Build, test and agent commands have no network. Default: the public package registries (npm, yarn, PyPI, crates.io, Go's proxy, RubyGems, Maven Central)"),
    })
    .optional()
    .describe("The OS sandbox repository code runs in (docs/security.md). Whether it is on is never the repository's choice"),
  permissions: z
    .strictObject({
      trigger: z
        .enum(['read', 'triage', 'write', 'maintain', 'admin'])
        .optional()
        .describe("The least repository role whose `/workflow` comments start runs, e.g. 'maintain' (default write)"),
    })
    .optional()
    .describe('Who may start runs from GitHub (the GitHub App and the Action)'),
  approval: z
    .enum(['generated', 'always', 'never'])
    .optional()
    .describe("Which runs started from GitHub wait for `/workflow approve` after their plan is shown: 'generated' scripts (default), 'always', or 'never'"),
  labels: z
    .record(z.string().min(1), workflowStart)
    .optional()
    .describe("Label name → the workflow it starts when put on an issue or pull request, e.g. { security-review: 'audit' }"),
  schedules: z
    .array(
      z.strictObject({
        cron: z.string().min(1).describe("When, as a cron expression in UTC unless timezone is set, e.g. '0 3 * * 1'"),
        workflow: z.string().min(1).describe("The workflow to run, e.g. 'security-sweep'"),
        args: z.unknown().optional().describe('What the workflow gets as `args`'),
        branches: z.array(z.string().min(1)).optional().describe("Branches (globs) to run it on, one run each, e.g. ['release/*'] (default: the default branch)"),
        timezone: z.string().min(1).optional().describe("An IANA time zone for cron, e.g. 'Europe/Berlin' (default UTC)"),
      }),
    )
    .optional()
    .describe('Workflows the GitHub App runs on a schedule'),
  on: z
    .strictObject({
      release: workflowStart.optional().describe("The workflow a published release starts, on the release's tag, e.g. 'security-sweep'"),
    })
    .optional()
    .describe('Workflows that GitHub events start'),
  sarif: z.boolean().optional().describe('Upload the findings of runs started from GitHub to code scanning as SARIF (default false)'),
  changes: z
    .enum(['propose', 'report'])
    .optional()
    .describe("What happens to changes left by isolation: 'worktree' agents that the script did not claim: gated and proposed, or only reported (default propose)"),
});

export type ForemanConfig = z.infer<typeof configSchema>;
