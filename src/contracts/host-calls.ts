// The protocol between a workflow script's sandbox and its host: each asynchronous call the prelude
// (src/runtime/sandbox-prelude.js) makes, what it sends and what the host answers. One schema per
// call is the single source of both: the types the engine's handlers take and the check of the JSON
// that crosses out of the isolate, which no one should trust (the script can reach neither the
// prelude's References nor this check, but the prelude is code too).
import { z } from 'zod';
import type { Change, GateResult, Proposal } from './ports.ts';

/** agent() and change() options stay unknown here: the host checks them with its own schema, so the error can name the option. */
const agentRequest = z.object({ prompt: z.string(), opts: z.unknown() });

export const hostCallSchemas = {
  agent: agentRequest,
  /** failure 'throw': fix() asks for a failed write agent as an error, to tell it from one that changed nothing. */
  change: agentRequest.extend({ failure: z.literal('throw').optional() }),
  /** The nested script's args stay in the isolate: only its name (or scriptPath) crosses. */
  workflow: z.union([z.strictObject({ name: z.string() }), z.strictObject({ scriptPath: z.string() })]),
  gate: z.object({ change: z.string() }),
  propose: z.object({
    change: z.string(),
    title: z.string(),
    body: z.string(),
    draft: z.boolean(),
    votes: z.array(z.object({ accepted: z.boolean(), reason: z.string() })).max(9).optional(),
  }),
  discard: z.object({ change: z.string() }),
} as const;

export type HostCallKind = keyof typeof hostCallSchemas;
export type HostCallRequest<Kind extends HostCallKind> = z.infer<(typeof hostCallSchemas)[Kind]>;

/** What `workflow()` names: a saved or built-in workflow, or a script file of the repository. */
export type NestedRef = { name: string } | { scriptPath: string };

/** A nested workflow's script, for `workflow(name)`: validated by the host before it crosses. */
export interface NestedWorkflow {
  body: string;
  file: string;
}

/** What each call resolves to in the script. */
export interface HostCallReplies {
  /** The agent's answer (text, or the object for a schema); null when it failed. */
  agent: unknown;
  change: Change | null;
  workflow: NestedWorkflow;
  gate: GateResult;
  propose: Proposal;
  discard: null;
}

/** One call, its request narrowed by its kind. */
export type HostCall = { [Kind in HostCallKind]: { kind: Kind; request: HostCallRequest<Kind> } }[HostCallKind];

/** The host's side: one handler per kind. */
export type HostCallHandlers = { [Kind in HostCallKind]: (request: HostCallRequest<Kind>) => Promise<HostCallReplies[Kind]> };

export const isHostCallKind = (kind: string): kind is HostCallKind => Object.hasOwn(hostCallSchemas, kind);

/**
 * The call as the host may act on it, or a TypeError naming what is wrong: an unknown kind, or a
 * request whose shape the prelude never sends.
 */
export function parseHostCall(kind: string, payload: unknown): HostCall {
  if (!isHostCallKind(kind)) throw new TypeError(`unknown host call ${kind}`);
  const parsed = hostCallSchemas[kind].safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TypeError(`malformed ${kind}() call from the sandbox: ${issue.path.join('.') || 'request'}: ${issue.message}`);
  }
  return { kind, request: parsed.data } as HostCall;
}
