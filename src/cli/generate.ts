// `foreman run "<free text>"`: have the model write the workflow, show its plan, and hand the
// script to the run only once the user approved it. Nothing is stored as a run before that, so a
// refused or invalid script leaves no run behind; the draft file is kept so it can be read,
// fixed and run by path.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { loadConfig, modelTable } from '../config/load.ts';
import { costUsd, resolveModel } from '../runtime/pricing.ts';
import { totalTokens } from '../contracts/usage.ts';
import type { ServiceEnv } from '../service/runs.ts';
import { repositoryRoot, resolveCommit } from '../workspace/checkout.ts';
import {
  AUTHORING_REFERENCE_VERSION,
  GenerationFailedError,
  looksLikeFreeText,
  type GeneratedWorkflow,
} from '../workflows/generate.ts';
import { workflowDirs } from '../workflows/load.ts';
import { writeScript } from '../service/scripts.ts';
import { formatPlan, planWorkflow } from '../workflows/plan.ts';
import type { RunArgs } from './args.ts';
import type { CliIo } from './io.ts';
import { count, formatTokens, formatUsd } from '../report/format.ts';

/** Ends `foreman run` before any run exists; the exit code says why (2 invalid or refused, 1 declined). */
export class NotRunError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = 'NotRunError';
    this.exitCode = exitCode;
  }
}

/** A ref that asks for a new workflow: free text, unless it names a .js file that is there. */
export const isFreeTextRef = (ref: string): boolean => looksLikeFreeText(ref) && !(ref.endsWith('.js') && existsSync(resolve(ref)));

/**
 * Generates, validates, shows the plan and asks. Resolves to the approved script; throws
 * NotRunError (or a usage error) when nothing should run.
 */
export async function writeWorkflow(args: RunArgs, io: CliIo, env: ServiceEnv, builtinDir: string): Promise<{ source: string; file: string }> {
  const say = (line: string) => io.stderr.write(line + '\n');
  const repo = await repositoryRoot(args.repo);
  const config = await loadConfig(repo);
  // A bad --base would otherwise surface only after the model was paid for.
  await resolveCommit(repo, args.base);
  const models = modelTable(config);
  const model = resolveModel(models, args.model);
  const dirs = workflowDirs(repo, env.userHome, builtinDir, resolve(args.repo));
  const file = join(env.home, 'generated', `${stamp()}-${randomBytes(2).toString('hex')}.js`);

  say(`writing a workflow with ${model} (authoring reference ${AUTHORING_REFERENCE_VERSION})`);
  let generated: GeneratedWorkflow;
  try {
    generated = await writeScript(args.ref, args.args, dirs, {
      model,
      file,
      apiKey: env.apiKey,
      baseURL: env.baseURL,
      signal: env.signal,
      onRejected: (attempt, problem) => say(`attempt ${attempt} rejected: ${problem.split('\n')[0]}; the model is fixing it`),
    });
  } catch (error) {
    if (!(error instanceof GenerationFailedError)) throw error;
    const kept = error.lastSource !== null ? await keep(file, error.lastSource) : null;
    const fix = kept
      ? `The last attempt is in ${kept}: fix it and run it with \`foreman run ${kept}\`, or rephrase the request.`
      : 'Rephrase the request, or write the script yourself (docs/script-api.md) and run it by path.';
    throw new NotRunError(`${error.message}\n${fix} Nothing was run.`, 2);
  }

  await keep(file, generated.script.source);
  const plan = planWorkflow(generated.script);
  const limits = config.limits ?? {};
  const budgetTokens = args.budgetTokens ?? limits.budgetTokens;
  const maxCostUsd = args.maxCostUsd ?? limits.maxCostUsd;
  const budget = [budgetTokens ? `${formatTokens(budgetTokens)} tokens` : null, maxCostUsd ? `${formatUsd(maxCostUsd)} cost cap` : null].filter(Boolean);
  const cost = costUsd(models, model, generated.usage);
  say('');
  for (const line of formatPlan(plan)) say(line);
  say(`  budget:  ${budget.length > 0 ? budget.join(', ') : 'no token budget or cost cap (--budget-tokens, --max-cost-usd set one)'}`);
  say(`  script:  ${file}`);
  const tokens = totalTokens(generated.usage);
  say(`  written in ${count(generated.attempts, 'attempt')}: ${count(tokens, 'token', formatTokens(tokens))}, ${formatUsd(cost)}`);
  say('');

  if (args.yes) return { source: generated.script.source, file };
  if (!io.stdin?.isTTY) {
    throw new NotRunError(
      `not run: a generated workflow runs only once its plan is approved, and there is no terminal to ask on. Pass --yes to run what the model writes, or read ${file} and run it with \`foreman run ${file}\``,
      2,
    );
  }
  if (!(await confirm(io, 'Run it? [y/N] '))) {
    throw new NotRunError(`not run: the plan was not approved. The script is in ${file}: \`foreman run ${file}\` runs it as it is`, 1);
  }
  return { source: generated.script.source, file };
}

async function keep(file: string, source: string): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, source);
  return file;
}

/** Anything but y/yes is no, and so are end of input and Ctrl-C. */
async function confirm(io: CliIo, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin!, output: io.stderr });
  try {
    // question() never settles when the input ends first, so end of input answers for it.
    const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
    // On a terminal readline reads Ctrl-C as a key, not a signal.
    rl.once('SIGINT', () => rl.close());
    const answer = await Promise.race([rl.question(question, io.signal ? { signal: io.signal } : {}), closed]);
    return /^\s*y(es)?\s*$/i.test(answer);
  } catch {
    return false;
  } finally {
    rl.close();
  }
}

const stamp = (): string => new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
