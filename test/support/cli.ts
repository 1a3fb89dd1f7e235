// Runs the real `foreman` bin as a child process, the way a user does.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/foreman.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliEnv {
  home: string;
  baseURL?: string;
  apiKey?: string | null;
  extra?: Record<string, string>;
}

export function cliEnv(env: CliEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: env.home, FOREMAN_HOME: `${env.home}/.foreman`, CI: '1', ...env.extra };
  if (env.apiKey !== null) out.ANTHROPIC_API_KEY = env.apiKey ?? 'test-key';
  if (env.baseURL) out.ANTHROPIC_BASE_URL = env.baseURL;
  return out;
}

export function startCli(args: string[], env: CliEnv, cwd?: string): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, ['--no-node-snapshot', BIN, ...args], { cwd, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runCli(args: string[], env: CliEnv, cwd?: string): Promise<CliResult> {
  return startCli(args, env, cwd).done;
}
