// What a script will do, read from its text before it runs: shown to the user who approves a
// generated workflow. The agent count is an estimate from call sites — how many items a fan-out
// gets is only known at run time — and the wording says so.

import { parse } from 'acorn';
import type { Node, Program } from 'acorn';
import type { ValidatedScript } from './validate.ts';

export type AgentCallKind = 'agent' | 'change' | 'fix';

export interface AgentCallSite {
  kind: AgentCallKind;
  line: number;
  column: number;
  /** Agents one call starts: 1, or for fix() the write agent plus its reviewers. */
  agents: number;
  /** Inside a loop or a callback (pipeline, parallel over a list, map, ...): runs once per item. */
  perItem: boolean;
}

export interface WorkflowPlan {
  name: string;
  description: string;
  whenToUse?: string;
  /** meta.phases titles, in order. */
  phases: string[];
  /** Agents started once, and agents started once per item. */
  agents: { once: number; perItem: number };
  callSites: AgentCallSite[];
  /** Names given to workflow(); their agents are not counted. '(computed)' when not a literal. */
  nestedWorkflows: string[];
  /** change(), fix(), propose() or an isolation: 'worktree' agent: the run may leave code changes. */
  writesCode: boolean;
}

const LOOPS = new Set(['ForStatement', 'ForInStatement', 'ForOfStatement', 'WhileStatement', 'DoWhileStatement']);
const FUNCTIONS = new Set(['ArrowFunctionExpression', 'FunctionExpression', 'FunctionDeclaration']);
const DEFAULT_REVIEWERS = 2;

type AnyNode = Node & Record<string, any>;

export function planWorkflow(script: ValidatedScript): WorkflowPlan {
  const program = parse(script.source, {
    ecmaVersion: 'latest',
    sourceType: 'module',
    allowReturnOutsideFunction: true,
    allowAwaitOutsideFunction: true,
    locations: true,
  }) as Program;

  const callSites: AgentCallSite[] = [];
  const nestedWorkflows: string[] = [];
  let writesCode = false;
  // Thunks written out in `parallel([() => a, () => b])` each run exactly once.
  const runOnce = new Set<Node>();

  const visit = (node: AnyNode, repeated: boolean): void => {
    if (node.type === 'CallExpression') {
      const callee = node.callee as AnyNode;
      const name = callee.type === 'Identifier' ? (callee.name as string) : null;
      if (name === 'parallel' && node.arguments[0]?.type === 'ArrayExpression') {
        for (const element of node.arguments[0].elements as Array<AnyNode | null>) {
          if (element && FUNCTIONS.has(element.type)) runOnce.add(element);
        }
      }
      if (name === 'agent' || name === 'change' || name === 'fix') {
        const opts = node.arguments[1] as AnyNode | undefined;
        callSites.push({
          kind: name,
          line: node.loc!.start.line,
          column: node.loc!.start.column + 1,
          agents: name === 'fix' ? 1 + reviewersOf(opts) : 1,
          perItem: repeated,
        });
        if (name !== 'agent' || literalOption(opts, 'isolation') === 'worktree') writesCode = true;
      } else if (name === 'propose') {
        writesCode = true;
      } else if (name === 'workflow') {
        const first = node.arguments[0] as AnyNode | undefined;
        nestedWorkflows.push(first?.type === 'Literal' && typeof first.value === 'string' ? first.value : '(computed)');
      }
    }
    const inside = repeated || LOOPS.has(node.type) || (FUNCTIONS.has(node.type) && !runOnce.has(node));
    for (const [key, value] of Object.entries(node)) {
      if (key === 'loc') continue;
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && typeof child === 'object' && typeof child.type === 'string') visit(child, inside);
      }
    }
  };
  visit(program as AnyNode, false);

  const agents = { once: 0, perItem: 0 };
  for (const site of callSites) agents[site.perItem ? 'perItem' : 'once'] += site.agents;
  const plan: WorkflowPlan = {
    name: script.meta.name,
    description: script.meta.description,
    phases: (script.meta.phases ?? []).map((phase) => phase.title),
    agents,
    callSites,
    nestedWorkflows,
    writesCode,
  };
  if (script.meta.whenToUse !== undefined) plan.whenToUse = script.meta.whenToUse;
  return plan;
}

function literalOption(opts: AnyNode | undefined, key: string): unknown {
  if (opts?.type !== 'ObjectExpression') return undefined;
  const property = (opts.properties as AnyNode[]).findLast(
    (p) => p.type === 'Property' && !p.computed && ((p.key.type === 'Identifier' && p.key.name === key) || p.key.value === key),
  );
  return property?.value.type === 'Literal' ? property.value.value : undefined;
}

function reviewersOf(opts: AnyNode | undefined): number {
  const reviewers = literalOption(opts, 'reviewers');
  return typeof reviewers === 'number' && Number.isInteger(reviewers) && reviewers > 0 ? reviewers : DEFAULT_REVIEWERS;
}

/** "3", "2 per item", "1 + 2 per item", "none". */
export function agentEstimate(plan: WorkflowPlan): string {
  const { once, perItem } = plan.agents;
  if (perItem === 0) return once === 0 ? 'none' : String(once);
  return once === 0 ? `${perItem} per item` : `${once} + ${perItem} per item`;
}

/** The plan as lines of text for a terminal or a comment. */
export function formatPlan(plan: WorkflowPlan): string[] {
  const lines = [`plan: ${plan.name}: ${plan.description}`];
  // whenToUse usually starts with "args:" itself (Claude Code's convention).
  if (plan.whenToUse) lines.push(`  args:    ${plan.whenToUse.replace(/^args:\s*/i, '')}`);
  lines.push(`  phases:  ${plan.phases.length > 0 ? plan.phases.join(' → ') : '(none declared)'}`);
  const estimate = agentEstimate(plan);
  const how =
    plan.agents.perItem > 0
      ? 'an estimate from the script: calls in loops and callbacks run once per item, and the items are known only when it runs'
      : 'an estimate from the script\'s call sites';
  lines.push(`  agents:  ${estimate === 'none' ? 'none' : `about ${estimate}`} (${how})`);
  if (plan.nestedWorkflows.length > 0) {
    lines.push(`  calls:   workflow ${[...new Set(plan.nestedWorkflows)].join(', ')} (its agents are not counted above)`);
  }
  lines.push(
    plan.writesCode
      ? '  code:    edits code in worktrees; changes that pass review and the gate are proposed as foreman/… branches'
      : "  code:    no change() or fix(); what its agents edit in the run's working tree becomes one change (unless the run is read-only)",
  );
  return lines;
}
