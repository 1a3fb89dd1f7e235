// The one schema for `.github/foreman.yml`. Later front doors derive the JSON Schema from it.
// It is also the one place a default is written: an optional key's default sits in its schema
// (`defaulted`), shows in the JSON Schema, and reaches code through CONFIG_DEFAULTS. The parsed
// config keeps absent keys absent (so what was written and what was defaulted stay apart, and the
// config a run records is the file's); code reads `config.x ?? CONFIG_DEFAULTS.x`.
import { z } from 'zod';

/** The most agents one run may be allowed, by config or by the CLI's --max-agents. */
export const MAX_AGENTS_PER_RUN = 100_000;
/**
 * A script's own CPU time (agents' waiting is free): the script only orchestrates, so minutes of
 * it are a loop gone wrong, and one run must not hold a shared host's CPU for longer.
 */
export const MAX_SCRIPT_CPU_MS = 300_000;
/** A run's wall clock: GitHub's own ceiling for a hosted job, 6 hours. */
export const MAX_RUN_WALL_MS = 21_600_000;
/** The most model turns one agent may be allowed (limits.maxTurns, --max-turns, agent({ maxTurns })). */
export const MAX_TURNS_PER_AGENT = 1000;

/** An optional key whose value, when absent, is `value`. */
function defaulted<T extends z.ZodType>(schema: T, value: z.output<T>) {
  return schema.optional().meta({ default: value });
}

/** The default `defaulted` recorded for a key. */
function defaultOf<T>(field: z.ZodOptional<z.ZodType<T>>): T {
  const value = field.meta()?.default;
  if (value === undefined) throw new Error('config schema: this key has no default');
  return value as T;
}

const price = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cacheRead: z.number().nonnegative(),
  cacheWrite: z.number().nonnegative().describe('A cache write with the 5-minute TTL (list price: 1.25 × input)'),
  cacheWrite1h: z.number().nonnegative().optional().describe('A cache write with the 1-hour TTL. Default: 2 × input'),
});

/** A workflow a GitHub event starts: its name, or the name and its args. */
const workflowStart = z.union([
  z.string().min(1),
  z.strictObject({
    workflow: z.string().min(1).describe("A saved or built-in workflow's name, e.g. 'audit'"),
    args: z.unknown().optional().describe('What the workflow gets as `args`'),
  }),
]);

/** One period's caps: at least one of USD and output tokens. */
const spendCap = z
  .strictObject({
    usd: z.number().positive().optional().describe('USD the scope may spend in the period: every token counts, as in maxCostUsd'),
    tokens: z.int().min(1).optional().describe('Output tokens the scope may spend in the period, counted as budgetTokens counts them'),
  })
  .refine((cap) => cap.usd !== undefined || cap.tokens !== undefined, { error: 'a spend cap needs usd, tokens or both, e.g. { usd: 20 }' });

const spendPeriods = z.strictObject({
  day: spendCap.optional().describe('Per UTC calendar day (from 00:00 UTC)'),
  month: spendCap.optional().describe('Per UTC calendar month (from the 1st, 00:00 UTC)'),
});

/** Caps that hold across runs, kept in the shared store (docs/config.md: spend caps). */
const spend = z.strictObject({
  repository: spendPeriods.optional().describe("What all runs on this repository may spend together. On the CLI the repository is its root directory's path"),
  installation: spendPeriods
    .optional()
    .describe('What all runs of the GitHub App installation may spend together, read from the config of the repository a run is on; the CLI and the Action have no installation'),
});

const limits = z.strictObject({
  concurrency: defaulted(z.int().min(1).max(256), 16).describe('Agents at once'),
  agentsPerRun: defaulted(z.int().min(1).max(MAX_AGENTS_PER_RUN), 1000).describe('Agents one run may start'),
  maxTurns: defaulted(z.int().min(1).max(MAX_TURNS_PER_AGENT), 200)
    .describe("Model turns one agent may take (an agent's own agent(prompt, { maxTurns }) overrides it). Long enough for an implementing agent"),
  budgetTokens: z.int().min(1).optional().describe("Output-token ceiling per run: the script's budget.total, counted as Claude Code counts it"),
  maxCostUsd: z.number().positive().optional().describe('USD ceiling per run: every token counts (input, cache and output)'),
  memoryMb: defaulted(z.int().min(16).max(4096), 128).describe('Sandbox memory limit'),
  cpuMs: defaulted(z.int().min(100).max(MAX_SCRIPT_CPU_MS), 10_000).describe('Script CPU time limit in ms (at most 300000)'),
  wallMs: defaulted(z.int().min(1000).max(MAX_RUN_WALL_MS), 14_400_000).describe('Run wall-clock limit in ms (default 4 hours, at most 21600000: 6 hours)'),
  spend: spend
    .optional()
    .describe("Spend caps across runs, per repository and per installation, per UTC day and month, e.g. { repository: { day: { usd: 20, tokens: 2000000 } } }. An agent that would cross one is not started; the run ends budget-exhausted and resumes once the cap resets"),
});

/** A domain as the API's web tools take it: no scheme; subdomains are included, a path narrows it. */
const webDomain = z
  .string()
  .regex(/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(\/[^\s]*)?$/, "a domain without a scheme, such as 'docs.python.org' or 'example.com/blog'");

const webTools = z
  .strictObject({
    search: z.boolean().optional().describe("Offer agents WebSearch (the API's web_search server tool). Default: true, a mapping turns the web on"),
    fetch: z.boolean().optional().describe("Offer agents WebFetch (the API's web_fetch server tool), which can carry repository text to any URL the model has seen (docs/security.md). Default: true, a mapping turns the web on"),
    maxUses: defaulted(z.int().min(1).max(100), 5).describe("Searches, and fetches, the API runs at most in one model request (its max_uses); more come back to the model as max_uses_exceeded"),
    allowedDomains: z.array(webDomain).min(1).optional().describe("The only domains search results and fetches may come from, e.g. ['docs.python.org']"),
    blockedDomains: z.array(webDomain).min(1).optional().describe("Domains search results and fetches may never come from, e.g. ['pastebin.com']"),
  })
  .refine((web) => !(web.allowedDomains && web.blockedDomains), { error: 'allowedDomains is set too, and the API takes one of the two: keep one', path: ['blockedDomains'] });

/** Whether agents get the web when `agents.web` is absent: the door's choice, on the user's machine only. */
const WEB_BY_DOOR = { cli: true, app: false, action: false } as const;

const agents = z.strictObject({
  commands: z
    .array(z.string().min(1))
    .optional()
    .describe(
      "Restricts run_command to these commands, run without a shell, e.g. 'npm test' or 'npx eslint **'. '*' matches one argument, a final '**' any remaining ones; [] allows none. Default: any command line, run in the OS sandbox",
    ),
  commandTimeoutMs: defaulted(z.int().min(1000), 120_000).describe('Timeout of one run_command'),
  web: z
    .union([z.boolean(), webTools])
    .optional()
    .describe(
      "Agents' WebSearch and WebFetch (the Messages API's server tools): true, false, or { search, fetch, maxUses, allowedDomains | blockedDomains }. Default: on in the CLI (your own machine, as in Claude Code), off in the GitHub App and the Action, which run on other people's input (docs/security.md)",
    ),
  write: defaulted(z.boolean(), true).describe(
    "Plain agent() calls may edit the run's shared working tree and run commands, as in Claude Code; what they leave becomes one candidate change. false: they only list, read and search",
  ),
  readOnlyWorkflows: z
    .array(z.string().min(1))
    .optional()
    .describe("Workflows (by meta.name) whose plain agents only list, read and search, whatever agents.write says, e.g. ['audit']. The built-in audit, review-pr and security-sweep are read-only anyway"),
});

const gate = z.strictObject({
  setup: z.string().min(1).optional().describe("Installs dependencies, e.g. 'npm ci'. Detected from the lockfile when absent"),
  build: z.string().min(1).optional().describe("Builds the project, e.g. 'npm run build'"),
  test: z.string().min(1).describe("Runs the tests, e.g. 'npm test'. Required when gate is set"),
  timeoutMs: defaulted(z.int().min(1000), 600_000).describe('Timeout of each gate step'),
  concurrency: z.int().min(1).max(64).optional().describe("This run's gates at once, at most the number of CPU cores: every run in a process shares one pool of that size (default: the whole pool)"),
});

const permissions = z.strictObject({
  trigger: defaulted(z.enum(['read', 'triage', 'write', 'maintain', 'admin']), 'write').describe("The least repository role whose `/workflow` comments start runs, e.g. 'maintain'"),
});

const approval = defaulted(z.enum(['generated', 'always', 'never']), 'generated').describe(
  "Which runs started from GitHub wait for `/workflow approve` after their plan is shown: 'generated' scripts, 'always', or 'never'",
);
const sarif = defaulted(z.boolean(), false).describe('Upload the findings of runs started from GitHub to code scanning as SARIF');
const changes = defaulted(z.enum(['propose', 'report']), 'propose').describe(
  "What happens to changes left by isolation: 'worktree' agents that the script did not claim, and to the edits plain agents left in the run's shared worktree: gated and proposed, or only reported",
);

export const configSchema = z.strictObject({
  models: z
    .strictObject({
      default: z.string().min(1).optional().describe('Model id or alias used when a script names none'),
      aliases: z.record(z.string(), z.string().min(1)).optional().describe('Alias → model id, merged over the built-in haiku/sonnet/opus'),
      prices: z.record(z.string(), price).optional().describe('Model id → USD per million tokens, merged over the built-in table'),
      webSearchUsdPer1000: z.number().nonnegative().optional().describe("USD per 1,000 web searches, whatever the model. Default: the API's list price, 10"),
    })
    .optional(),
  limits: limits.optional(),
  agents: agents.optional(),
  gate: gate.optional(),
  sandbox: z
    .strictObject({
      network: z
        .array(z.string().regex(/^(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/, "a host name, '*.domain' or 'host:port'"))
        .optional()
        .describe("Hosts the gate's setup step (dependency install) may reach through the sandbox's proxy: 'registry.npmjs.org', '*.example.com' or 'host:port'. Build, test and agent commands have no network. Default: the public package registries (npm, yarn, PyPI, crates.io, Go's proxy, RubyGems, Maven Central)"),
    })
    .optional()
    .describe("The OS sandbox repository code runs in (docs/security.md). Whether it is on is never the repository's choice"),
  permissions: permissions.optional().describe('Who may start runs from GitHub (the GitHub App and the Action)'),
  approval,
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
  sarif,
  changes,
});

export type ForemanConfig = z.infer<typeof configSchema>;

/** What an absent key means, as the schema says: `config.limits?.concurrency ?? CONFIG_DEFAULTS.limits.concurrency`. */
export const CONFIG_DEFAULTS = {
  limits: {
    concurrency: defaultOf(limits.shape.concurrency),
    agentsPerRun: defaultOf(limits.shape.agentsPerRun),
    maxTurns: defaultOf(limits.shape.maxTurns),
    memoryMb: defaultOf(limits.shape.memoryMb),
    cpuMs: defaultOf(limits.shape.cpuMs),
    wallMs: defaultOf(limits.shape.wallMs),
  },
  agents: { commandTimeoutMs: defaultOf(agents.shape.commandTimeoutMs), write: defaultOf(agents.shape.write), web: { byDoor: WEB_BY_DOOR, maxUses: defaultOf(webTools.shape.maxUses) } },
  gate: { timeoutMs: defaultOf(gate.shape.timeoutMs) },
  permissions: { trigger: defaultOf(permissions.shape.trigger) },
  approval: defaultOf(approval),
  sarif: defaultOf(sarif),
  changes: defaultOf(changes),
} as const;
