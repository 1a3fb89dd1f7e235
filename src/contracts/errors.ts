// Errors a user acts on. Each carries what happened as data and the kind of failure, which fixes
// the exit code; none carries a door's wording. The doors word the remedy each in its own terms (a
// CLI flag, a comment command, an Action input) from the kind and the data.
import type { CapKind } from './caps.ts';

/**
 * usage: the request was wrong (fix it and ask again); refused: a rule declined it; declined: the
 * user said no; failed: it ran and failed; cap: a ceiling of the run ended it; stopped: the user
 * stopped it.
 */
export type ErrorKind = 'usage' | 'refused' | 'declined' | 'failed' | 'cap' | 'stopped';

/** The exit code of a process that ends with an error of each kind (the CLI's, and the Action's step). */
export const EXIT_CODES: Record<ErrorKind, number> = { usage: 2, refused: 2, declined: 1, failed: 1, stopped: 1, cap: 3 };

export class ForemanError<Data = undefined> extends Error {
  readonly kind: ErrorKind;
  readonly data: Data;

  constructor(kind: ErrorKind, message: string, data: Data) {
    super(message);
    this.name = new.target.name;
    this.kind = kind;
    this.data = data;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

/** Nothing was run: the request was invalid or refused (usage, refused) or the user declined it. */
export class NotRunError extends ForemanError<undefined> {
  constructor(kind: 'usage' | 'refused' | 'declined', message: string) {
    super(kind, message, undefined);
  }
}

/**
 * A host call the host declined to start (a ceiling, a stop) and has already reported: the script
 * still gets an Error, but parallel() and pipeline() do not print it a second time.
 */
export class RefusalError<Data = undefined> extends ForemanError<Data> {}

/** Which ceiling refused a call, with its value and what the run had spent; cap null: the run's stop. */
export interface CeilingRefusal {
  /** The script API call that was refused. */
  call: 'agent' | 'gate' | 'propose';
  cap: CapKind | null;
  /** The cap's value (tokens, USD, agents); absent for a stop. */
  limit?: number;
  /** What the run had used of it when it refused. */
  used?: number;
}

/** Thrown into the script when a ceiling or a stop refuses a new agent (or gate, or proposal). */
export class CeilingError extends RefusalError<CeilingRefusal> {
  constructor(message: string, refusal: CeilingRefusal) {
    super(refusal.cap ? 'cap' : 'stopped', message, refusal);
  }
}
