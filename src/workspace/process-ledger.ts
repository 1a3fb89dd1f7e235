// Gate steps and agents' commands run in process groups of their own, killed on timeout or stop.
// If Foreman itself dies (SIGKILL, the OOM killer) they would run on, writing into worktrees a
// resume recreates. So each group is written down here while it runs, and the next run or resume
// kills the groups whose Foreman is gone. A group is only killed when one of its processes still
// carries the marker it was started with, so a recycled process id is never hit.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from '../runtime/store.ts';

export const MARKER_VARIABLE = 'FOREMAN_PROCESS_MARKER';

/** One ledger per Foreman home, shared by every run and process using it. */
export const processLedgerDir = (home: string): string => join(home, 'processes');

interface Entry {
  owner: number;
  marker: string;
  command: string;
  startedAt: string;
}

export class ProcessLedger {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  newMarker(): string {
    return randomBytes(12).toString('hex');
  }

  record(pgid: number, marker: string, command: string): void {
    mkdirSync(this.#dir, { recursive: true });
    const entry: Entry = { owner: process.pid, marker, command, startedAt: new Date().toISOString() };
    writeFileSync(join(this.#dir, `${pgid}.json`), JSON.stringify(entry));
  }

  forget(pgid: number): void {
    rmSync(join(this.#dir, `${pgid}.json`), { force: true });
  }

  /** Kills the recorded groups whose Foreman process is gone; returns their ids. */
  reapOrphans(isAlive: (pid: number) => boolean = isProcessAlive): number[] {
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch {
      return [];
    }
    const killed: number[] = [];
    for (const name of names) {
      const pgid = Number.parseInt(name, 10);
      if (!Number.isInteger(pgid) || pgid <= 1) continue;
      let entry: Entry;
      try {
        entry = JSON.parse(readFileSync(join(this.#dir, name), 'utf8')) as Entry;
      } catch {
        this.forget(pgid);
        continue;
      }
      if (entry.owner !== process.pid && isAlive(entry.owner)) continue;
      if (groupCarries(pgid, entry.marker)) {
        try {
          process.kill(-pgid, 'SIGKILL');
          killed.push(pgid);
        } catch {
          // Gone meanwhile.
        }
      }
      this.forget(pgid);
    }
    return killed;
  }
}

/** Whether a live process of group `pgid` was started with `marker` (Linux: /proc). */
function groupCarries(pgid: number, marker: string): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    // No /proc (macOS): the marker cannot be checked, so nothing is killed.
    return false;
  }
  const needle = `${MARKER_VARIABLE}=${marker}`;
  for (const pid of pids) {
    try {
      // Field 5 of stat is the process group; the command name (field 2) may hold spaces.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(needle)) return true;
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return false;
}
