// Who may ask Foreman for what on GitHub: the App and the Action both ask here, and both post the
// refusal this returns. The bar is the config's `permissions.trigger` (write by default).
import type { Octokit } from '@octokit/core';
import { CONFIG_DEFAULTS, type ForemanConfig } from '../config/schema.ts';
import type { WorkflowCommand } from '../github/commands.ts';
import { hasRole, ROLE_RANK, roleOf, type Role } from '../github/roles.ts';
import { inlineCode } from '../report/markdown.ts';

/** What a person asked for, in the words the refusal needs. */
export type RequestedAction =
  /** A `/workflow` comment. */
  | { kind: 'command'; command: WorkflowCommand['kind'] }
  /** A Stop or Resume button on a check run (or a re-run of one). */
  | { kind: 'button'; action: 'stop' | 'resume' }
  /** A label put on, or a release published, that the config maps to `workflow`. */
  | { kind: 'event'; event: 'label' | 'release'; name: string; workflow: string };

export interface Actor {
  login: string;
  /** The actor's role on the repository; null when GitHub knows of none. */
  role: Role | null;
}

export type Authorization =
  | { allowed: true; needed: Role }
  /** `reason` is for the log; `refusal` is the polite comment, for the thread the request came from. */
  | { allowed: false; needed: Role; reason: string; refusal: string };

/** The login's role on the repository, read from GitHub. */
export async function actorOn(octokit: Pick<Octokit, 'request'>, repository: { owner: string; repo: string }, login: string): Promise<Actor> {
  return { login, role: await roleOf(octokit, { ...repository, author: login }) };
}

/** The role `action` needs. A config that could not be read is `null`: the default bar holds, never a lower one. */
export function neededRole(config: ForemanConfig | null, action: RequestedAction): Role {
  const trigger: Role = config?.permissions?.trigger ?? CONFIG_DEFAULTS.permissions.trigger;
  // Approving lets a script the model wrote, or fork code, run with secrets nearby: never less than write.
  if (action.kind === 'command' && action.command === 'approve' && ROLE_RANK[trigger] < ROLE_RANK.write) return 'write';
  return trigger;
}

export function authorize(actor: Actor, config: ForemanConfig | null, action: RequestedAction): Authorization {
  const needed = neededRole(config, action);
  if (hasRole(actor.role, needed)) return { allowed: true, needed };
  const has = actor.role ?? 'none';
  const who = `${actor.login} has ${actor.role ?? 'no'} access`;
  switch (action.kind) {
    case 'command':
      return {
        allowed: false,
        needed,
        reason: `${who}; \`/workflow\` needs ${needed}`,
        refusal: `@${actor.login}, thanks for asking: Foreman starts workflows only for people with **${needed}** access to this repository (you have ${has}). A maintainer can run the same command for you.`,
      };
    case 'button':
      return {
        allowed: false,
        needed,
        reason: `${who}; ${action.action} needs ${needed}`,
        refusal: `@${actor.login}, thanks: only people with **${needed}** access can ${action.action} Foreman runs here (you have ${has}).`,
      };
    case 'event':
      return {
        allowed: false,
        needed,
        reason: `${who}; ${action.event} runs need ${needed}`,
        refusal:
          action.event === 'label'
            ? `@${actor.login}, thanks: the label ${inlineCode(action.name)} starts ${inlineCode(action.workflow)} only when someone with **${needed}** access puts it on (you have ${has}).`
            : `@${actor.login}, thanks: the release ${inlineCode(action.name)} starts ${inlineCode(action.workflow)} only when someone with **${needed}** access publishes it (you have ${has}).`,
      };
  }
}
