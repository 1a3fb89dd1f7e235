// How a run's ending is shown on GitHub: the check conclusions and the progress comment's heading.
// Shared by the App and the Action, so both show a run a cap ended the same way.
import type { RunOutcome } from '../runtime/engine.ts';
import type { PhaseStats } from '../runtime/progress.ts';

type EndStatus = RunOutcome['status'];

/**
 * The summary check's conclusion. A run a cap ended (`budget-exhausted`) is `action_required`: not
 * green, so a required check does not pass on half a run, and not a failure of the code under
 * review: someone has to raise the cap and resume.
 */
export const RUN_CONCLUSIONS: Record<EndStatus, 'success' | 'failure' | 'cancelled' | 'action_required'> = {
  completed: 'success',
  failed: 'failure',
  stopped: 'cancelled',
  'budget-exhausted': 'action_required',
};

/** The final progress comment's heading and the job summary's state. */
export const OUTCOME_HEADINGS: Record<EndStatus, string> = {
  completed: '✅ completed',
  failed: '❌ failed',
  stopped: '⏹️ stopped',
  'budget-exhausted': '⚠️ budget exhausted',
};

/**
 * A phase check's conclusion: cancelled where a stop left agents undone, failure with the run,
 * action_required where a cap refused agents, neutral where some failed.
 */
export function phaseConclusion(runStatus: EndStatus, stats: Pick<PhaseStats, 'running' | 'queued' | 'refused' | 'failed'> | null): string {
  if (runStatus === 'stopped' && stats && stats.running + stats.queued + stats.refused > 0) return 'cancelled';
  if (runStatus === 'failed') return 'failure';
  if (stats && stats.refused > 0) return 'action_required';
  if (stats && stats.failed > 0) return 'neutral';
  return 'success';
}
