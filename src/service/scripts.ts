// The script a request from GitHub runs: the saved or built-in workflow it names, or one the model
// writes for it when it is free text. The App's worker, the Action and `foreman run "<request>"`
// all get their scripts here.
import { listWorkflows, resolveWorkflow, WorkflowNotFoundError, availableNames, type WorkflowDirs } from '../workflows/load.ts';
import { GenerationFailedError, generateWorkflow, looksLikeFreeText, type GeneratedWorkflow, type WorkflowSummary } from '../workflows/generate.ts';

export interface RequestedScript {
  source: string;
  file: string;
  /** 'generated' for a script the model wrote; else where the named workflow was found. */
  origin: string;
}

export interface ScriptWriter {
  /** Resolved model id. */
  model: string;
  /** Where a generated script is kept. */
  file: string;
  apiKey?: string;
  baseURL?: string;
  signal?: AbortSignal;
  /** Told of each attempt the validation rejected, before the model fixes it. */
  onRejected?: (attempt: number, problem: string) => void;
}

/** The workflows a generated script may call, as the model is told of them. */
export async function workflowSummaries(dirs: WorkflowDirs): Promise<WorkflowSummary[]> {
  return (await listWorkflows(dirs)).filter((w) => !w.error).map(({ name, description, whenToUse }) => ({ name, description, whenToUse }));
}

/**
 * A workflow the model writes for a free-text request, told of the workflows `dirs` hold so that
 * it may call them. Throws GenerationFailedError when no attempt passed validation.
 */
export async function writeScript(request: string, args: unknown, dirs: WorkflowDirs, writer: ScriptWriter): Promise<GeneratedWorkflow> {
  return generateWorkflow({
    request,
    args,
    model: writer.model,
    file: writer.file,
    workflows: await workflowSummaries(dirs),
    apiKey: writer.apiKey,
    baseURL: writer.baseURL,
    signal: writer.signal,
    ...(writer.onRejected ? { onRejected: writer.onRejected } : {}),
  });
}

/**
 * `ref` as a saved or built-in workflow, or, when it names none and `request` (the comment's whole
 * text, sanitised when it was parsed) is free text, a workflow the model writes for it. A single
 * unknown word is a WorkflowNotFoundError naming the workflows there are.
 */
export async function scriptForRequest(ref: string, request: string | null, dirs: WorkflowDirs, writer: ScriptWriter): Promise<RequestedScript> {
  const workflow = await resolveWorkflow(ref, dirs);
  if (workflow && workflow.origin !== 'path') return workflow;
  if (request === null || !looksLikeFreeText(request)) throw new WorkflowNotFoundError(ref, await availableNames(dirs));
  try {
    const generated = await writeScript(request, null, dirs, writer);
    return { source: generated.script.source, file: writer.file, origin: 'generated' };
  } catch (error) {
    if (error instanceof GenerationFailedError) throw new Error(`${error.message}. Rephrase the request, or save a workflow in .claude/workflows/ and run it by name`);
    throw error;
  }
}
