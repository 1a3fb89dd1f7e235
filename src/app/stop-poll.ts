// `/workflow stop` and the Stop button only mark the run in the registry (any replica may take
// them): the worker running it looks for that mark and aborts the run.
import type { RunRegistry } from './run-registry.ts';

/** Aborts `controller` once the run `runId()` names is asked to stop; returns what ends the polling. */
export function pollStopRequests(registry: RunRegistry, runId: () => string | null, controller: AbortController, intervalMs = 1_000): () => void {
  const poll = setInterval(() => {
    const id = runId();
    if (!id) return;
    registry.get(id).then(
      (entry) => entry?.stopRequested && controller.abort(),
      () => undefined,
    );
  }, intervalMs);
  return () => clearInterval(poll);
}
