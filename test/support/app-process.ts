// `foreman app` as a child process in a directory of the test's choosing, the way a user starts it
// after `npm link`: the real executable, on a port of its own choosing.
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './cli.ts';
import { tempDir } from './repo.ts';

export interface AppProcess {
  child: ChildProcess;
  /** Resolves with the first match of `pattern` in stderr; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
  stderr(): string;
  stop(): Promise<number | null>;
}

export function startAppIn(cwd: string, env: NodeJS.ProcessEnv, args: string[] = []): AppProcess {
  const child = spawn(process.execPath, ['--no-node-snapshot', BIN, 'app', '--port', '0', '--host', '127.0.0.1', ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: tempDir(), FOREMAN_HOME: tempDir(), LOG_LEVEL: 'fatal', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stderr!.setEncoding('utf8').on('data', (d) => {
    stderr += d;
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    exited,
    stderr: () => stderr,
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stderr);
          if (match) {
            listeners.delete(check);
            resolve(match);
          }
        };
        listeners.add(check);
        check();
        exited.then((code) => {
          listeners.delete(check);
          reject(new Error(`foreman app exited ${code} before ${pattern}: ${stderr}`));
        });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
