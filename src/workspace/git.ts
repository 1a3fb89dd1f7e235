// Thin git runner: execFile, never a shell, so refs and paths are never interpreted.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export class GitError extends Error {
  readonly args: string[];
  readonly stderr: string;
  constructor(args: string[], stderr: string) {
    super(`git ${args.join(' ')} failed: ${stderr.trim() || 'no output'}`);
    this.args = args;
    this.stderr = stderr;
  }
}

export interface GitOptions {
  /** Laid over the environment: identities and dates, or config that must stay out of argv. */
  env?: Record<string, string>;
  /** Sent on stdin; a commit message can be longer than one argument may be (128 KiB on Linux). */
  input?: string;
}

export async function git(cwd: string, args: string[], options: GitOptions = {}): Promise<string> {
  try {
    const pending = execFileAsync('git', args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...options.env } });
    if (options.input !== undefined) {
      // git may exit before reading everything (a bad argument); its exit code reports that, not EPIPE.
      pending.child.stdin?.on('error', () => undefined);
      pending.child.stdin?.end(options.input);
    }
    const { stdout } = await pending;
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new GitError(args, e.stderr ?? e.message);
  }
}
