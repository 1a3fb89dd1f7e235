// The plan comment a run from GitHub waits on for `/workflow approve`: what the script will do,
// with the script itself collapsed below it. The Action reads the script back out of its own
// plan comment when the plan is approved, so the format and its reader live together here.
import { formatPlan, planWorkflow } from '../workflows/plan.ts';
import { codeFence, tableCell } from './markdown.ts';
import type { ValidatedScript } from '../workflows/validate.ts';

/**
 * `saveable`: the front door can turn the script into a saved workflow (`/workflow save`, the App).
 * `why`: why this plan waits, when it is not the script being written or `approval: always`.
 */
export function planComment(trigger: string, script: ValidatedScript, generated: boolean, saveable = true, why?: string): string {
  const fence = codeFence(script.source);
  // The plan shows the script's meta (a generated script's is the model's): in a fence of its own
  // that no backtick run in a phase title can close.
  const plan = formatPlan(planWorkflow(script)).join('\n');
  const planFence = codeFence(plan);
  return [
    `### Foreman · plan for ${tableCell(trigger)}`,
    '',
    why ?? (generated ? 'Foreman wrote a workflow for this request. Nothing has run yet.' : 'This repository asks for approval before every run (`approval: always`). Nothing has run yet.'),
    '',
    `${planFence}text`,
    plan,
    planFence,
    '',
    `<details><summary>The script (${script.source.split('\n').length} lines)</summary>`,
    '',
    `${fence}js`,
    script.source.trimEnd(),
    fence,
    '',
    '</details>',
    '',
    `Someone with write access runs it with \`/workflow approve\`.${generated && saveable ? ' After it ran, `/workflow save <name>` proposes it as a saved workflow.' : ''}`,
  ].join('\n');
}

/**
 * The script in a plan comment, as planComment wrote it (trailing whitespace aside, one newline at
 * the end), or null. Its fence is longer than any run of backticks in the script, so the first
 * line closing it is the end.
 */
export function scriptInPlanComment(body: string): string | null {
  const open = /\n(`{3,})js\n/.exec(body);
  if (!open) return null;
  const start = open.index + open[0].length;
  const end = body.indexOf(`\n${open[1]}\n`, start);
  return end === -1 ? null : `${body.slice(start, end).trimEnd()}\n`;
}
