// What a run from GitHub runs, and whether it must wait for `/workflow approve` first.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { modelTable } from '../config/load.ts';
import { planFirst } from '../policy/approval.ts';
import { resolveModel } from '../runtime/pricing.ts';
import { scriptForRequest, type RequestedScript } from '../service/scripts.ts';
import type { WorkflowDirs } from '../workflows/load.ts';
import type { GitHubRunContext } from './run-registry.ts';

/** The saved or built-in workflow the request names, one written for it earlier (an approved plan), or one the model writes now. */
export async function scriptForRun(context: GitHubRunContext, dirs: WorkflowDirs, home: string, anthropic: { apiKey?: string; baseURL?: string }): Promise<RequestedScript> {
  if (context.script) return { ...context.script, origin: 'generated' };
  return scriptForRequest(context.workflow, context.request ?? context.workflow, dirs, {
    model: resolveModel(modelTable(context.config), undefined),
    file: join(home, 'generated', `${context.owner}-${context.repo}-${Date.now()}-${randomBytes(2).toString('hex')}.js`),
    ...anthropic,
  });
}

/** Whether the run shows its plan and waits for `/workflow approve`, by the config's `approval`. */
export function needsApproval(context: GitHubRunContext, script: RequestedScript): boolean {
  // Schedules and releases were set up on the default branch by maintainers: that is their approval.
  const asked = context.issueNumber !== null;
  return asked && !context.approvedBy && planFirst(context.config, script);
}
