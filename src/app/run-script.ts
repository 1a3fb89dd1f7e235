// What a run from GitHub runs, and whether it must wait for `/workflow approve` first.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { modelTable } from '../config/load.ts';
import { planFirst } from '../policy/approval.ts';
import { resolveModel } from '../runtime/pricing.ts';
import { scriptForRequest, type RequestedScript } from '../service/scripts.ts';
import { resolveWorkflow, type WorkflowDirs } from '../workflows/load.ts';
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

/**
 * What a resume someone asked for runs: the saved workflow the run started from, as the default
 * branch (`dirs`) has it now. A generated script, a built-in one (Foreman's own, kept as the run
 * started with it) or a saved workflow since deleted: null, the stored script runs (the service
 * also refuses to put a saved workflow in place of a run's generated or built-in script).
 */
export async function savedScriptNow(context: GitHubRunContext, dirs: WorkflowDirs): Promise<RequestedScript | null> {
  if (context.script) return null;
  const workflow = await resolveWorkflow(context.workflow, dirs);
  return workflow?.origin === 'repo' ? workflow : null;
}
