// Runs (or resumes) one workflow through the service in this process and prints its outcome:
// the prompt-cache benchmark's runs, with shared prompt prefixes on or off. The fake model runs
// in the parent (bench/cache.ts), which reads what was billed from it.
import { fileURLToPath } from 'node:url';
import { resumeRun, startRun, type ServiceEnv } from '../src/service/runs.ts';

const [mode, repo, refOrRunId, concurrency, prefixes, maxAgents] = process.argv.slice(2);
const env: ServiceEnv = {
  home: process.env.FOREMAN_HOME!,
  userHome: process.env.HOME!,
  builtinDir: fileURLToPath(new URL('../workflows/', import.meta.url)),
  apiKey: 'bench',
  baseURL: process.env.ANTHROPIC_BASE_URL,
  commandEnv: process.env,
  sharePromptPrefixes: prefixes !== 'off',
};
const caps = maxAgents ? { maxAgents: Number(maxAgents) } : {};
const started = performance.now();
const outcome =
  mode === 'resume'
    ? await resumeRun(refOrRunId!, env, { caps })
    : await startRun({ ref: refOrRunId!, args: null, repoDir: repo!, base: 'HEAD', concurrency: Number(concurrency), ...caps }, env);
process.stdout.write(JSON.stringify({ runId: outcome.runId, status: outcome.status, usage: outcome.summary.usage, costUsd: outcome.summary.costUsd, wallMs: performance.now() - started }) + '\n');
