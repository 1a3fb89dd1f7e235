// `foreman app` as a user starts it: the real executable as a child process (in a directory of
// the test's choosing, as after `npm link`), credentials in its environment or ./.env, and signed
// deliveries to it over HTTP.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { BIN } from './cli.ts';
import { tempDir } from './repo.ts';

export interface AppProcess {
  child: ChildProcess;
  /** The address it printed once it listened; rejects if it exits first. */
  listening: Promise<string>;
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

export function startAppProcess(env: NodeJS.ProcessEnv, args: string[] = ['--port', '0', '--host', '127.0.0.1'], options: { cwd?: string; nodeArgs?: string[]; detached?: boolean } = {}): AppProcess {
  const child = spawn(process.execPath, ['--no-node-snapshot', ...(options.nodeArgs ?? []), BIN, 'app', ...args], {
    cwd: options.cwd,
    // A process group of its own, as a terminal's foreground job or a systemd unit has.
    detached: options.detached ?? false,
    env: { PATH: process.env.PATH, HOME: tempDir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d) => {
    stderr += d;
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(stderr);
        if (!match) return;
        listeners.delete(check);
        resolve(match);
      };
      listeners.add(check);
      check();
      exited.then((code) => {
        listeners.delete(check);
        reject(new Error(`foreman app exited ${code} before ${pattern}: ${stderr}`));
      });
    });
  const listening = waitFor(/listening on (http:\/\/\S+)/).then((match) => match[1]!);
  listening.catch(() => {});
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return { child, listening, exited, stdout: () => stdout, stderr: () => stderr, waitFor, stop };
}

/** `foreman app` started in `cwd` on a port of its own choosing, with a fresh FOREMAN_HOME and quiet logs. */
export function startAppIn(cwd: string, env: NodeJS.ProcessEnv, args: string[] = []): AppProcess {
  return startAppProcess({ FOREMAN_HOME: tempDir(), LOG_LEVEL: 'fatal', ...env }, ['--port', '0', '--host', '127.0.0.1', ...args], { cwd });
}

/** An RSA key of the kind GitHub gives an App. */
export function appPrivateKey(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
}

/** POSTs `payload` as GitHub would, signed with `secret` (null: unsigned). */
export function deliver(url: string, event: string, payload: unknown, secret: string | null, id = `d-${Date.now()}`): Promise<Response> {
  const body = JSON.stringify(payload);
  return fetch(`${url}/api/github/webhooks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': id,
      ...(secret ? { 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` } : {}),
    },
    body,
  });
}

/** The processes `pid` started (Linux). */
export function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
}

/**
 * The live processes whose environment holds `entry` (NAME=value), whoever started them. Foreman's
 * App and worker are non-dumpable: their environment is readable with CAP_SYS_PTRACE only (root,
 * as in CI); without it they are not found.
 */
export function processesWithEnv(entry: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z' && readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Polls `check` every 25 ms until it returns a value, for at most `ms`. */
export async function eventually<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
