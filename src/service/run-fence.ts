// A run's store as its execution uses it. The first write refused because another worker took the
// run over (RunTakenOverError: the queue's lease lapsed while this worker went on) stops the
// execution as a stop does: it starts no more agents, and what it still tries to write is refused.
import { RunTakenOverError, type Store } from '../contracts/store.ts';

export interface FencedStore {
  store: Store;
  /** Aborted, with the RunTakenOverError, once a write was refused. */
  takenOver: AbortSignal;
}

export function stopOnTakeOver(store: Store): FencedStore {
  const stop = new AbortController();
  const watch = (written: Promise<unknown>): Promise<unknown> =>
    written.catch((error: unknown) => {
      if (error instanceof RunTakenOverError && !stop.signal.aborted) stop.abort(error);
      throw error;
    });
  const fenced = new Proxy(store, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const out: unknown = value.apply(target, args);
        return out instanceof Promise ? watch(out) : out;
      };
    },
  });
  return { store: fenced, takenOver: stop.signal };
}
