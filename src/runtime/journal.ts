// Resume matches each host call by key and occurrence, not by position: after a crash in a
// fan-out, completion order differs from call order, and only the unfinished calls run again.
import { createHash } from 'node:crypto';
import type { JournalEntry } from '../contracts/store.ts';

/** JSON with object keys sorted, so equal inputs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
    }
    return v;
  });
}

export function callKey(kind: string, inputs: unknown): string {
  return createHash('sha256').update(kind).update('\0').update(canonicalJson(inputs)).digest('hex').slice(0, 32);
}

export interface CallTicket {
  key: string;
  occurrence: number;
  seq: number;
  /** The completed entry from an earlier execution, if there is one. */
  replay: JournalEntry | undefined;
}

/** Numbers this execution's calls and finds their journaled results. */
export class Journal {
  readonly #completed = new Map<string, JournalEntry>();
  readonly #occurrences = new Map<string, number>();
  readonly #loaded: number;
  #seq = 0;
  #replayed = 0;

  constructor(entries: JournalEntry[]) {
    for (const entry of entries) this.#completed.set(slot(entry.key, entry.occurrence), entry);
    this.#loaded = this.#completed.size;
  }

  get completedCount(): number {
    return this.#completed.size;
  }

  /**
   * What this execution asked of the journal: its calls, how many an earlier attempt had completed,
   * and the earlier entries no call asked for (an edited script dropped or changed those calls;
   * they stay in the store, unused).
   */
  get replay(): { calls: number; replayed: number; unused: number } {
    return { calls: this.#seq, replayed: this.#replayed, unused: this.#loaded - this.#replayed };
  }

  ticket(kind: string, inputs: unknown): CallTicket {
    const key = callKey(kind, inputs);
    const occurrence = this.#occurrences.get(key) ?? 0;
    this.#occurrences.set(key, occurrence + 1);
    this.#seq += 1;
    const replay = this.#completed.get(slot(key, occurrence));
    // Each ticket takes a new slot, so a replay is always an earlier execution's entry.
    if (replay) this.#replayed += 1;
    return { key, occurrence, seq: this.#seq, replay };
  }

  remember(entry: JournalEntry): void {
    this.#completed.set(slot(entry.key, entry.occurrence), entry);
  }
}

const slot = (key: string, occurrence: number): string => `${key}#${occurrence}`;
