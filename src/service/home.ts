// Where Foreman keeps its store, clones, worktrees and generated scripts.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * `$FOREMAN_HOME` when set; else `fallback`, which is `~/.foreman` ($HOME's, or the OS user's home
 * when HOME is unset) for the CLI, the App and the worker. The Action passes the runner's
 * temporary directory instead: its home goes away with the job. Always an absolute path.
 */
export function foremanHome(env: Readonly<Record<string, string | undefined>>, fallback: string = join(env.HOME ?? homedir(), '.foreman')): string {
  return resolve(env.FOREMAN_HOME || fallback);
}
