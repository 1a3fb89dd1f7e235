// What the event that started the job asks for: which workflow, with which args, reported where,
// and whose role must be checked first. Only the event payload and the inputs are read here.
import type { ForemanConfig } from '../config/schema.ts';
import { parseWorkflowCommand, type WorkflowCommand } from '../github/commands.ts';
import { commentTrigger, configuredStart, labelTrigger, releaseTrigger } from '../policy/trigger.ts';
import type { ActionInputs } from './inputs.ts';

export interface RunTrigger {
  kind: 'run';
  workflow: string;
  args: unknown;
  /** The whole request of a comment (free text when `workflow` names nothing). */
  request: string | null;
  /** The issue or pull request the run reports on. */
  issueNumber: number | null;
  pullNumber: number | null;
  /** Who must have the trigger role: a commenter or the person who put the label on. */
  checkRoleOf: string | null;
  commentId: number | null;
  description: string;
  /** The label someone put on, for a run a label started. */
  label?: string;
}

/** Any other `/workflow` comment (help, status, stop, approve, ...): answered on its issue or pull request. */
export interface CommandTrigger {
  kind: 'command';
  command: Exclude<WorkflowCommand, { kind: 'run' }>;
  issueNumber: number;
  pullNumber: number | null;
  checkRoleOf: string;
  commentId: number;
  description: string;
}

export type Trigger = RunTrigger | CommandTrigger | { kind: 'skip'; reason: string };

export function triggerOf(eventName: string, payload: any, inputs: ActionInputs, config: ForemanConfig): Trigger {
  const named = (workflow: string | undefined, args: unknown, description: string, where: Partial<RunTrigger> = {}): Trigger =>
    workflow
      ? { kind: 'run', workflow, args, request: null, issueNumber: null, pullNumber: null, checkRoleOf: null, commentId: null, description, ...where }
      : { kind: 'skip', reason: `the ${eventName} event names no workflow: set the workflow input` };
  switch (eventName) {
    case 'issue_comment': {
      if (payload.action !== 'created') return { kind: 'skip', reason: `a comment was ${payload.action}: only new comments are commands` };
      if (payload.comment?.user?.type === 'Bot') return { kind: 'skip', reason: 'a comment by a bot' };
      const command = parseWorkflowCommand(payload.comment?.body ?? '');
      if (!command) return { kind: 'skip', reason: 'the comment is not a /workflow command' };
      const isPull = Boolean(payload.issue?.pull_request);
      if (command.kind !== 'run') {
        return {
          kind: 'command',
          command,
          issueNumber: payload.issue.number,
          pullNumber: isPull ? payload.issue.number : null,
          checkRoleOf: payload.comment.user.login,
          commentId: payload.comment.id,
          description: `\`/workflow ${command.kind}\` by @${payload.comment.user.login}`,
        };
      }
      return {
        kind: 'run',
        workflow: command.ref,
        args: command.args,
        request: command.text,
        issueNumber: payload.issue.number,
        pullNumber: isPull ? payload.issue.number : null,
        checkRoleOf: payload.comment.user.login,
        commentId: payload.comment.id,
        description: commentTrigger(command.text, payload.comment.user.login),
      };
    }
    case 'pull_request':
    case 'pull_request_target': {
      if (payload.action !== 'labeled') return named(inputs.workflow, inputs.args, `pull request #${payload.pull_request?.number}`, { issueNumber: payload.pull_request.number, pullNumber: payload.pull_request.number });
      const label = payload.label?.name as string;
      const start = configuredStart(config, { kind: 'label', name: label });
      if (!start && !inputs.workflow) return { kind: 'skip', reason: `the label ${label} starts no workflow (config labels, or the workflow input)` };
      return {
        kind: 'run',
        workflow: start?.workflow ?? inputs.workflow,
        args: start ? start.args : inputs.args,
        request: null,
        issueNumber: payload.pull_request.number,
        pullNumber: payload.pull_request.number,
        checkRoleOf: payload.sender?.login ?? null,
        commentId: null,
        description: labelTrigger(label, payload.sender?.login),
        label,
      };
    }
    case 'release': {
      const fromConfig = configuredStart(config, { kind: 'release' });
      return named(inputs.workflow || fromConfig?.workflow, inputs.workflow ? inputs.args : (fromConfig?.args ?? null), releaseTrigger(payload.release?.tag_name ?? ''));
    }
    case 'schedule':
      return named(inputs.workflow, inputs.args, `the schedule \`${payload.schedule ?? ''}\``);
    case 'workflow_dispatch':
      return named(inputs.workflow || payload.inputs?.workflow, inputs.workflow ? inputs.args : inputs.args ?? null, `a manual dispatch by @${payload.sender?.login ?? 'someone'}`);
    default:
      return named(inputs.workflow, inputs.args, `the ${eventName} event`);
  }
}
