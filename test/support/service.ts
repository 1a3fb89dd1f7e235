// Runs workflows through the service core in-process: the real sandbox, store, git checkout and
// SDK, against a fake Messages API.
import { fileURLToPath } from 'node:url';
import { startRun, type ServiceEnv } from '../../src/service/runs.ts';
import type { RunEvent } from '../../src/contracts/events.ts';
import { makeRepo, tempDir } from './repo.ts';

export const BUILTIN_DIR = fileURLToPath(new URL('../../workflows/', import.meta.url));

export function serviceEnv(baseURL: string, events: RunEvent[] = [], extra: Partial<ServiceEnv> = {}): ServiceEnv {
  const home = tempDir();
  return { home: `${home}/.foreman`, userHome: home, builtinDir: BUILTIN_DIR, apiKey: 'test-key', baseURL, listener: (e) => events.push(e), commandEnv: process.env, ...extra };
}

/** Runs `body` (a script without meta) as a saved workflow in a fresh repository. */
export async function runScript(body: string, env: ServiceEnv, options: { args?: unknown; budgetTokens?: number; maxCostUsd?: number; concurrency?: number; files?: Record<string, string> } = {}) {
  const repo = makeRepo({ ...options.files, '.claude/workflows/t.js': `export const meta = { name: 't', description: 'test' }\n${body}` });
  return startRun({ ref: 't', args: options.args ?? null, repoDir: repo, base: 'HEAD', budgetTokens: options.budgetTokens, maxCostUsd: options.maxCostUsd, concurrency: options.concurrency }, env);
}

