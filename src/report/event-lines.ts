// One line of text per run event: the CLI's output off a terminal, and the Action's log.
import type { CapKind, RunEvent } from '../contracts/events.ts';
import { SHARED_CHANGE_ID } from '../contracts/ports.ts';
import { count, editedText, formatMs, formatUsd, tokensText } from './format.ts';

// Short: a fan-out can refuse hundreds of agents; the run's last line says how to raise the cap.
const CAP_REACHED: Record<CapKind, string> = {
  tokens: 'the token budget is spent',
  usd: 'the cost cap is reached',
  agents: 'the agent cap is reached',
  spend: 'a spend cap is reached',
};

export function describeEvent(event: RunEvent): string | null {
  switch (event.type) {
    case 'run-started':
      if (!event.resumed) return `start ${event.workflow} at ${event.baseSha.slice(0, 12)}`;
      return `resume ${event.workflow} at ${event.baseSha.slice(0, 12)}${event.edited ? ` with ${editedText(event.edited)}` : ''} (${count(event.replayable, 'journaled call')} to replay)`;
    case 'phase':
      return `phase ${event.title}`;
    case 'log':
      return `log ${event.message}`;
    case 'warn':
      return `warn ${event.message}`;
    case 'agent-finished': {
      const figures = `${tokensText(event.usage, 'tok')} ${formatUsd(event.costUsd)} ${formatMs(event.elapsedMs)}`;
      const tail = event.error ? `: ${event.error}` : '';
      return `agent ${event.status} [${event.phase}] ${event.label} ${event.status === 'replayed' ? '(from journal)' : figures}${tail}`;
    }
    case 'agent-refused':
      return `agent refused [${event.phase}] ${event.label}: ${event.cap ? CAP_REACHED[event.cap] : 'the run was stopped'}`;
    case 'change-made':
      return `change ${event.changeId} ${event.label}: ${count(event.files, 'file')} changed${event.candidate ? (event.changeId.startsWith(`${SHARED_CHANGE_ID}-`) ? " (left in the run's working tree by its agents)" : ' (left by a worktree agent)') : ''}`;
    case 'gate-started':
      return `gate ${event.changeId} ${event.label}: running`;
    case 'gate-finished':
      return `gate ${event.changeId} ${event.label}: ${event.passed ? 'passed' : `failed${event.failedStep ? ` at ${event.failedStep}` : ''}`} ${formatMs(event.durationMs)}`;
    case 'change-proposed':
      return `proposed ${event.changeId} ${event.label}: ${event.url ?? `branch ${event.branch}`}${event.created ? '' : ' (already there)'}`;
    case 'change-discarded':
      return `discarded ${event.changeId} ${event.label}`;
    case 'run-finished':
      return `run ${event.status}${event.error ? `: ${event.error}` : ''}`;
    default:
      return null;
  }
}

