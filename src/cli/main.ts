// The CLI front door: parse, call the service, render. One error path: every failure becomes one
// message on stderr and an exit code (0 completed, 1 failed or stopped, 2 usage/validation,
// 3 budget-exhausted).
import { FOREMAN_VERSION } from '../service/version.ts';
import type { CliIo } from './io.ts';
import { foremanHome } from '../service/home.ts';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../config/load.ts';
import { CONFIG_DEFAULTS } from '../config/schema.ts';
import type { RunOutcome } from '../runtime/engine.ts';
import { CAP_CONFIG_KEYS, type CapKind } from '../contracts/caps.ts';
import { addUsage, totalTokens, usedCache, zeroUsage } from '../contracts/usage.ts';
import { MissingArgsError, openStore, resumeRun, runResult, startRun, UnknownRunError, type ResumeRequest, type RunRequest, type ServiceEnv } from '../service/runs.ts';
import { isRunLive, type RunRecord } from '../runtime/store.ts';
import { changesSince, repositoryRoot, RepositoryError } from '../workspace/checkout.ts';
import { listWorkflows, readScriptFile, workflowDirs, WorkflowNotFoundError } from '../workflows/load.ts';
import { ScriptValidationError, validateScript } from '../workflows/validate.ts';
import { commandHelp, parseIdArgs, parseListArgs, parseResumeArgs, parseRunArgs, parseSaveArgs, parseValidateArgs, UsageError, USAGE, wantsHelp } from './args.ts';
import { isFreeTextRef, NotRunError, writeWorkflow } from './generate.ts';
import { cacheText, count, formatMs, formatTokens, formatUsd, replayText, tokensText } from '../report/format.ts';
import { LineReporter, LiveTableReporter, runJson, type Reporter } from './output.ts';
import { detectSandbox, sandboxMessage, type SandboxChoice } from '../workspace/sandbox.ts';
import { markNonDumpable } from '../service/non-dumpable.ts';

export type { CliIo } from './io.ts';

const BUILTIN_DIR = fileURLToPath(new URL('../../workflows/', import.meta.url));

export async function main(argv: string[], io: CliIo): Promise<number> {
  const err = (line: string) => io.stderr.write(line + '\n');
  io.signal?.addEventListener('abort', () => announceStop(io), { once: true });
  try {
    const [command, ...rest] = argv;
    if (command === undefined || HELP.has(command)) {
      // `foreman help run` is `foreman run --help`.
      io.stdout.write((rest[0] !== undefined && commandHelp(rest[0])) || USAGE);
      io.stdout.write('\n');
      return command === undefined ? 2 : 0;
    }
    if (VERSION.has(command)) {
      io.stdout.write(`foreman ${FOREMAN_VERSION}\n`);
      return 0;
    }
    const run = COMMANDS[command];
    if (!run) throw new UsageError(`unknown command '${command}'\n${USAGE}`);
    if (wantsHelp(rest)) {
      io.stdout.write(commandHelp(command) + '\n');
      return 0;
    }
    const { argv: commandArgs, databaseUrl } = takeDatabaseUrl(rest, io.env);
    if (databaseUrl) databaseUrls.set(io, databaseUrl);
    return await run(commandArgs, io);
  } catch (error) {
    const seeList = error instanceof WorkflowNotFoundError && error.available.length > 0 ? ' `foreman list` shows them with their descriptions.' : '';
    err(`foreman: ${(error as Error).message}${seeList}`);
    return exitCodeFor(error);
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof NotRunError) return error.exitCode;
  const usage = [UsageError, ScriptValidationError, WorkflowNotFoundError, ConfigError, RepositoryError, UnknownRunError, MissingKeyError, MissingArgsError];
  return usage.some((type) => error instanceof type) ? 2 : 1;
}

class MissingKeyError extends Error {}

/** DATABASE_URL or --database-url: the run store is in PostgreSQL (see takeDatabaseUrl). */
const databaseUrls = new WeakMap<CliIo, string>();
const databaseUrl = (io: CliIo): string | undefined => databaseUrls.get(io);

/**
 * `--database-url URL` (or `=URL`), taken out of any command's arguments, wins over DATABASE_URL:
 * every command that opens the run store opens it there.
 */
function takeDatabaseUrl(argv: string[], env: NodeJS.ProcessEnv): { argv: string[]; databaseUrl: string | undefined } {
  const rest: string[] = [];
  let url = env.DATABASE_URL || undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg.startsWith('--database-url=')) url = arg.slice('--database-url='.length);
    else if (arg === '--database-url') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError('--database-url needs a value: a PostgreSQL URL such as postgres://user:password@host:5432/foreman');
      url = value;
    } else rest.push(arg);
  }
  return { argv: rest, databaseUrl: url };
}

/** The reporter showing a run, while one is: the stop line goes through it, not past it. */
const showing = new WeakMap<CliIo, Reporter>();

function announceStop(io: CliIo): void {
  const line = 'foreman: stopping: agents are aborted and the run stays resumable; Ctrl-C again quits at once';
  const reporter = showing.get(io);
  if (reporter) reporter.stopping(line);
  else io.stderr.write(line + '\n');
}

/** The flag of `foreman run`/`resume` that raises each cap of a run (spend caps are the config's alone). */
const CAP_FLAGS: Record<Exclude<CapKind, 'spend'>, { flag: string; placeholder: string }> = {
  tokens: { flag: '--budget-tokens', placeholder: 'N' },
  usd: { flag: '--max-cost-usd', placeholder: 'X' },
  agents: { flag: '--max-agents', placeholder: 'N' },
};

function serviceEnv(io: CliIo, reporter: Reporter | null, noSandbox = false): ServiceEnv {
  const apiKey = io.env.ANTHROPIC_API_KEY;
  if (!apiKey) {
    throw new MissingKeyError(
      'ANTHROPIC_API_KEY is not set: agents need it to call the model. Create a key at console.anthropic.com, then `export ANTHROPIC_API_KEY=sk-ant-...` (ANTHROPIC_BASE_URL points Foreman at another Messages-API endpoint)',
    );
  }
  // This process now holds the key: closed to the commands it runs, most of all with --no-sandbox.
  markNonDumpable();
  const url = databaseUrl(io);
  return {
    home: foremanHome(io.env),
    ...(url ? { databaseUrl: url } : {}),
    userHome: io.env.HOME ?? homedir(),
    userClaude: true,
    builtinDir: BUILTIN_DIR,
    apiKey,
    baseURL: io.env.ANTHROPIC_BASE_URL || undefined,
    listener: reporter ? (event) => reporter.onEvent(event) : undefined,
    signal: io.signal,
    ...(reporter ? { onRunId: (runId: string) => reporter.started(runId), onNote: (note: string) => reporter.note(`note: ${note}`) } : {}),
    commandEnv: io.env,
    sandbox: sandboxChoice(io, noSandbox),
    // The user's own machine and input, as in Claude Code: the web is on unless the config says no.
    webByDefault: CONFIG_DEFAULTS.agents.web.byDoor.cli,
    howToResume: (runId, cap) =>
      cap === 'spend'
        ? `\`foreman resume ${runId}\` continues it once the cap resets, or at once after raising it (config ${CAP_CONFIG_KEYS.spend})`
        : `\`foreman resume ${runId}${cap ? ` ${CAP_FLAGS[cap].flag} ${CAP_FLAGS[cap].placeholder}` : ''}\` continues it${cap ? ` with a raised cap (config ${CAP_CONFIG_KEYS[cap]})` : ''}`,
  };
}

/**
 * The user's own choice only: --no-sandbox or FOREMAN_SANDBOX=off in their environment, never the
 * repository's config. Without it, an unavailable sandbox refuses every gate step and command.
 */
function sandboxChoice(io: CliIo, noSandbox: boolean): SandboxChoice {
  // Asked once per command: a free-text run builds an environment to write the script and
  // another to run it, and the user should hear about the sandbox once.
  const known = sandboxChoices.get(io);
  if (known) return known;
  const choice = decideSandbox(io, noSandbox);
  sandboxChoices.set(io, choice);
  return choice;
}

const sandboxChoices = new WeakMap<CliIo, SandboxChoice>();

function decideSandbox(io: CliIo, noSandbox: boolean): SandboxChoice {
  const off = noSandbox || io.env.FOREMAN_SANDBOX === 'off';
  if (off) {
    io.stderr.write(`foreman: warning: ${noSandbox ? '--no-sandbox' : 'FOREMAN_SANDBOX=off'}: gate steps and agents' commands run without the OS sandbox, with your user's rights, files and network\n`);
    return { kind: 'off' };
  }
  const choice = detectSandbox({ ...(io.env.FOREMAN_BWRAP ? { bwrap: io.env.FOREMAN_BWRAP } : {}), hide: [foremanHome(io.env), io.env.HOME ?? homedir()] });
  if (choice.kind === 'unavailable') {
    io.stderr.write(`foreman: warning: ${sandboxMessage(choice)}. Gate steps and agents' commands will be refused; pass --no-sandbox to run them without it on your own machine (\`foreman doctor\` checks again)\n`);
  }
  return choice;
}

async function doctorCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.length > 0) throw new UsageError(`foreman doctor takes no arguments\n${USAGE}`);
  io.stdout.write(`foreman ${FOREMAN_VERSION}, node ${process.version}\n`);
  const choice = detectSandbox(io.env.FOREMAN_BWRAP ? { bwrap: io.env.FOREMAN_BWRAP } : {});
  if (choice.kind === 'bwrap') {
    io.stdout.write(`sandbox: works (${choice.bwrap}): gate steps and agents' commands run in their own namespaces, without network, seeing only the system and their worktree\n`);
    io.stdout.write(choice.socat
      ? `setup step forwarder: ${choice.socat}\n`
      : 'setup step forwarder: node (socat is not installed; installing it saves about 50 ms per gate: sudo apt-get install socat)\n');
    return 0;
  }
  io.stdout.write(`sandbox: unavailable: ${choice.reason}\n  fix: ${choice.fix}\n`);
  return 1;
}

function reporterFor(io: CliIo): Reporter {
  return isSizedTerminal(io.stderr) && !io.env.CI ? new LiveTableReporter(io.stderr as NodeJS.WriteStream) : new LineReporter((line) => io.stderr.write(line + '\n'));
}

/**
 * A terminal that says how big it is: a pseudo-terminal nobody sized (a tool's captured `script`
 * session) reports 0 columns and rows, where a redrawn table would be cut to one character a line.
 */
function isSizedTerminal(stream: CliIo['stderr']): boolean {
  const tty = stream as Partial<NodeJS.WriteStream>;
  return stream.isTTY === true && (tty.columns ?? 0) > 0 && (tty.rows ?? 0) > 0;
}

/** A --repo that is not there is named as such, not as "not a git repository". */
async function existingDir(dir: string): Promise<string> {
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) throw new UsageError(`--repo ${dir} is not a directory: pass the directory of a git checkout`);
  return dir;
}

async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseRunArgs(argv);
  await existingDir(args.repo);
  const { ref, repo, base, model, concurrency, budgetTokens, maxCostUsd, maxAgents, maxTurns, wallMs, readOnly } = args;
  const scriptArgs =
    args.fromRun !== undefined ? await runResult(foremanHome(io.env), args.fromRun, databaseUrl(io)) : args.diffFrom !== undefined ? await changesSince(repo, args.diffFrom, base) : args.args;
  const request: RunRequest = { ref, typedPath: true, args: scriptArgs, repoDir: repo, base, model, concurrency, budgetTokens, maxCostUsd, maxAgents, maxTurns, wallMs, readOnly };
  if (isFreeTextRef(ref)) request.script = await writeWorkflow(args, io, serviceEnv(io, null, args.noSandbox), BUILTIN_DIR);
  try {
    return await withProgress(io, args.json, (env) => startRun(request, { ...env, workflowsFrom: resolve(repo) }), args.noSandbox);
  } catch (error) {
    if (!(error instanceof MissingArgsError)) throw error;
    throw new UsageError(`${error.message}. Pass them with --args <json|string> (or --from-run <runId>, --diff-from REF); \`foreman run --help\` lists the options`);
  }
}

async function resumeCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseResumeArgs(argv);
  const request: ResumeRequest = { caps: args.caps, takeOver: args.takeOver, ...(args.script !== undefined ? { script: { ref: args.script, typedPath: true } } : {}), ...(args.args ? { args: args.args } : {}) };
  try {
    return await withProgress(io, args.json, (env) => resumeRun(args.runId, env, request), args.noSandbox);
  } catch (error) {
    if (!(error instanceof MissingArgsError)) throw error;
    throw new UsageError(`${error.message}. Pass them with --args <json|string>; \`foreman resume --help\` lists the options`);
  }
}

/** Runs with progress on stderr, then prints the outcome; the exit code follows the status. */
async function withProgress(io: CliIo, json: boolean, execute: (env: ServiceEnv) => Promise<RunOutcome>, noSandbox: boolean): Promise<number> {
  const reporter = reporterFor(io);
  showing.set(io, reporter);
  let outcome: RunOutcome;
  try {
    outcome = await execute(serviceEnv(io, reporter, noSandbox));
  } finally {
    showing.delete(io);
    reporter.close();
  }
  // One line per event already ended with `run <status>: <error>`; the live table did not.
  return finish(outcome, json, io, reporter instanceof LineReporter);
}

/** DESIGN §6, and 3 so that a script or CI job can tell a run a cap ended from a failed one. */
const EXIT_CODES: Record<RunOutcome['status'], number> = { completed: 0, failed: 1, stopped: 1, 'budget-exhausted': 3 };

async function finish(outcome: RunOutcome, json: boolean, io: CliIo, errorShown: boolean): Promise<number> {
  if (json) {
    io.stdout.write(JSON.stringify(runJson(outcome)) + '\n');
  } else {
    const refused = outcome.summary.refused ? `, ${outcome.summary.refused} refused` : '';
    const replayed = outcome.summary.resume ? `, ${replayText(outcome.summary.resume)}` : '';
    io.stderr.write(`${outcome.status}: ${await storedTotals(io, outcome, refused)}${replayed}\n`);
    if (outcome.error && !errorShown) io.stderr.write(`foreman: ${outcome.error}\n`);
    if (outcome.status === 'completed') io.stdout.write(JSON.stringify(outcome.result, null, 2) + '\n');
  }
  return EXIT_CODES[outcome.status];
}

/**
 * The run's agents as `foreman show` lists them (every attempt, from the store), so the two agree:
 * "6 agents (done 4, stopped 2), 1.2k tokens, cache: 900 read (75% of prompt tokens), 0 written, $0.0032, 4.5s".
 */
async function storedTotals(io: CliIo, outcome: RunOutcome, refused: string): Promise<string> {
  const store = await openStore(foremanHome(io.env), databaseUrl(io));
  const agents = await store.listAgents(outcome.runId).finally(() => store.close());
  const byStatus = new Map<string, number>();
  const usage = zeroUsage();
  let costUsd = 0;
  for (const agent of agents) {
    byStatus.set(agent.status, (byStatus.get(agent.status) ?? 0) + 1);
    addUsage(usage, agent.usage);
    costUsd += agent.costUsd;
  }
  const tokens = totalTokens(usage);
  const searches = usage.webSearches ?? 0;
  const fetches = usage.webFetches ?? 0;
  // Only where the agents used the cache, or reached the web: "cache: …, 3 web searches, 1 web fetch".
  const extras = [usedCache(usage) && cacheText(usage), searches && `${searches} web search${searches === 1 ? '' : 'es'}`, fetches && `${fetches} web fetch${fetches === 1 ? '' : 'es'}`].filter(Boolean).map((part) => `, ${part}`).join('');
  // "done 4, stopped 2": status words as `foreman show` prints them, so no plural to get wrong.
  const breakdown = byStatus.size > 1 || (byStatus.size === 1 && !byStatus.has('done')) ? ` (${[...byStatus].map(([status, n]) => `${status} ${n}`).join(', ')})` : '';
  return `${count(agents.length, 'agent')}${breakdown}${refused}, ${count(tokens, 'token', formatTokens(tokens))}${extras}, ${formatUsd(costUsd)}, ${formatMs(outcome.summary.elapsedMs)}`;
}

/** A 'running' run whose process is gone crashed or was killed: it is interrupted, and resumable. */
const displayStatus = (run: RunRecord): string => (run.status === 'running' && !isRunLive(run) ? 'interrupted' : run.status);

async function runsCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseListArgs(argv, 'runs');
  const store = await openStore(foremanHome(io.env), databaseUrl(io));
  try {
    const runs = (await store.listRuns()).map((run) => ({
      runId: run.id,
      workflow: run.workflow,
      status: displayStatus(run),
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
    }));
    if (args.json) {
      io.stdout.write(JSON.stringify(runs) + '\n');
    } else if (runs.length === 0) {
      io.stdout.write('no runs yet: `foreman run <workflow>` starts one\n');
    } else {
      for (const r of runs) io.stdout.write(`${r.runId}  ${r.status.padEnd(16)}  ${r.workflow}  ${r.startedAt}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

async function showCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseIdArgs(argv, 'show');
  const store = await openStore(foremanHome(io.env), databaseUrl(io));
  try {
    const run = await store.getRun(args.runId);
    if (!run) throw new UnknownRunError(`no run ${args.runId}: \`foreman runs\` lists the runs`);
    const out = (line = '') => io.stdout.write(line + '\n');
    if (args.agent !== undefined) {
      const agent = await store.getAgent(run.id, args.agent);
      if (!agent) throw new UsageError(`run ${run.id} has no agent ${args.agent}: \`foreman show ${run.id}\` lists its agents`);
      if (args.json) {
        out(JSON.stringify(agent));
        return 0;
      }
      const t = agent.transcript as { system?: string; turns?: Array<{ text: string; toolCalls: Array<{ name: string; input: unknown; output: string; isError: boolean }> }>; final?: unknown };
      out(`agent ${agent.no} [${agent.phase}] ${agent.label}  ${agent.status}  ${agent.model}  ${count(agent.turns, 'turn')}  ${formatUsd(agent.costUsd)}`);
      if (agent.error) out(`error: ${agent.error}`);
      out(`${formatTokens(totalTokens(agent.usage))} tok${usedCache(agent.usage) ? `; ${cacheText(agent.usage)}` : ''}`);
      out('\nprompt:');
      out(agent.prompt);
      for (const [i, turn] of (t.turns ?? []).entries()) {
        out(`\nturn ${i + 1}:`);
        if (turn.text) out(turn.text);
        for (const call of turn.toolCalls) {
          out(`> ${call.name} ${JSON.stringify(call.input)}${call.isError ? '  (error)' : ''}`);
          out(call.output.split('\n').map((l) => `  ${l}`).join('\n'));
        }
      }
      out('\nresult:');
      out(typeof t.final === 'string' ? t.final : JSON.stringify(t.final, null, 2));
      return 0;
    }
    const agents = await store.listAgents(run.id);
    if (args.json) {
      out(JSON.stringify({ ...run, status: displayStatus(run), source: undefined, agents: agents.map(({ transcript, ...a }) => a) }));
      return 0;
    }
    out(`run ${run.id}  ${run.workflow}  ${displayStatus(run)}`);
    out(`repo ${run.repoDir} at ${run.baseSha.slice(0, 12)} (${run.baseRef})`);
    out(`started ${run.startedAt}${run.finishedAt ? `, finished ${run.finishedAt}` : ''}`);
    if (run.error) out(`error: ${run.error}`);
    out(`\nagents:`);
    for (const a of agents) {
      out(`  ${String(a.no).padStart(4)}  ${a.status.padEnd(13)}  [${a.phase}] ${a.label}  ${tokensText(a.usage, 'tok')}  ${formatUsd(a.costUsd)}`);
    }
    if (run.status === 'completed') {
      out('\nresult:');
      out(JSON.stringify(run.result, null, 2));
    }
    return 0;
  } finally {
    await store.close();
  }
}

async function listCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseListArgs(argv, 'list');
  // Without --repo, outside a checkout, the user's and the built-in workflows are still worth listing.
  const repo = args.repo === undefined ? await repositoryRoot('.').catch(() => resolve('.')) : await repositoryRoot(await existingDir(args.repo));
  const workflows = await listWorkflows(workflowDirs(repo, io.env.HOME ?? homedir(), BUILTIN_DIR, resolve(args.repo ?? '.')));
  if (args.json) {
    io.stdout.write(JSON.stringify(workflows) + '\n');
    return 0;
  }
  if (workflows.length === 0) {
    io.stdout.write('no workflows: save one as .claude/workflows/<name>.js\n');
    return 0;
  }
  for (const w of workflows) {
    io.stdout.write(`${w.name.padEnd(20)} ${w.origin.padEnd(8)} ${w.error ? `INVALID: ${w.error.split('\n')[0]}` : (w.description ?? '')}\n`);
    if (w.whenToUse && !w.error) io.stdout.write(`${' '.repeat(30)}${w.whenToUse}\n`);
  }
  return 0;
}

async function validateCommand(argv: string[], io: CliIo): Promise<number> {
  const { file } = parseValidateArgs(argv);
  let source: string;
  try {
    source = await readScriptFile(file);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}; check the path`);
  }
  const script = validateScript(source, file);
  io.stdout.write(`${file}: ok (${script.meta.name}: ${script.meta.description})\n`);
  return 0;
}

/** Keeps the script a run ran (generated, saved or built-in) as a saved workflow of its repository. */
async function saveCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseSaveArgs(argv);
  const store = await openStore(foremanHome(io.env), databaseUrl(io));
  const run = await store.getRun(args.runId).finally(() => store.close());
  if (!run) throw new UnknownRunError(`no run ${args.runId}: \`foreman runs\` lists the runs`);
  if (!(await stat(run.repoDir).then((s) => s.isDirectory(), () => false))) {
    throw new UsageError(`run ${run.id} ran in ${run.repoDir}, which is no longer there: restore that checkout (or clone the repository there), then save again`);
  }
  const file = join(run.repoDir, '.claude', 'workflows', `${args.name}.js`);
  await mkdir(dirname(file), { recursive: true });
  try {
    // 'wx' fails if the file exists, with no window between a check and the write.
    await writeFile(file, run.source, { flag: args.force ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new UsageError(`${file} already exists: pass --force to overwrite it, or choose another name`);
  }
  io.stdout.write(file + '\n');
  io.stderr.write(`saved the script of run ${run.id} (${run.workflow}): \`foreman run ${args.name}\` runs it\n`);
  return 0;
}

const HELP = new Set(['help', '--help', '-h']);
const VERSION = new Set(['version', '--version', '-V']);

const COMMANDS: Record<string, (argv: string[], io: CliIo) => Promise<number>> = {
  run: runCommand,
  resume: resumeCommand,
  runs: runsCommand,
  show: showCommand,
  list: listCommand,
  validate: validateCommand,
  save: saveCommand,
  doctor: doctorCommand,
};
