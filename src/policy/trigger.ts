// What an event starts, by the config: a label (`labels:`), a release (`on.release`), a schedule
// (`schedules:`), or a `/workflow` comment, and how the run names what started it.
import type { ForemanConfig } from '../config/schema.ts';
import { inlineCode } from '../report/markdown.ts';

export interface ConfiguredStart {
  workflow: string;
  args: unknown;
}

/** The config's entry for an event: a workflow's name, or `{ workflow, args }`. */
type StartEntry = string | { workflow: string; args?: unknown };

const startOf = (entry: StartEntry | undefined): ConfiguredStart | null =>
  entry === undefined ? null : typeof entry === 'string' ? { workflow: entry, args: null } : { workflow: entry.workflow, args: entry.args ?? null };

/** The workflow the config maps a label or a release to; null when it maps none (most are none of Foreman's business). */
export function configuredStart(config: ForemanConfig, event: { kind: 'label'; name: string } | { kind: 'release' }): ConfiguredStart | null {
  return startOf(event.kind === 'label' ? config.labels?.[event.name] : config.on?.release);
}

/** A schedule of the config's `schedules:`. */
export function scheduledStart(schedule: NonNullable<ForemanConfig['schedules']>[number]): ConfiguredStart {
  return { workflow: schedule.workflow, args: schedule.args ?? null };
}

/** How a run started by a `/workflow` comment names it: the command (long ones cut), and who asked. */
export function commentTrigger(text: string, author: string): string {
  return `${inlineCode(`/workflow ${text.length > 80 ? `${text.slice(0, 77)}...` : text}`)} by @${author}`;
}

export const labelTrigger = (label: string, author: string | undefined): string => `the label ${inlineCode(label)} by @${author}`;

/** A release's tag is its publisher's text: a backtick in it must not end the code span. */
export const releaseTrigger = (tag: string, author?: string): string => `the release ${inlineCode(tag)}${author ? ` by @${author}` : ''}`;

/** How a run a schedule started names it. */
export const scheduleTrigger = (cron: string, branch: string): string => `the schedule \`${cron}\` on \`${branch}\``;

/**
 * A schedule's or a release's run is a sweep: nobody is waiting on it, so its model requests give
 * way to interactive runs' when the organisation's rate limits run short.
 */
export const isSweepTrigger = (trigger: string): boolean => trigger.startsWith('the schedule ') || trigger.startsWith('the release ');
