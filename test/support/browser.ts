// A real headless browser (Debian's chromium) driven over the DevTools protocol on a pipe: it
// loads pages, follows redirects and submits forms as a user's browser does. No dependency: the
// protocol is JSON messages separated by NUL bytes on file descriptors 3 (in) and 4 (out).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { tempDir } from './repo.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** Why a browser test cannot run here, or false. In CI it always runs: a missing browser fails it. */
export function browserSkipReason(): string | false {
  if (existsSync(CHROMIUM) || process.env.CI) return false;
  return `no browser at ${CHROMIUM} (apt-get install chromium); CI=true runs this test and fails without one`;
}

export interface BrowserPage {
  goto(url: string): Promise<void>;
  /** Runs `expression` in the page and waits for the page it navigates to to load. */
  navigateBy(expression: string): Promise<void>;
  evaluate<T>(expression: string): Promise<T>;
  text(): Promise<string>;
}

export interface Browser {
  newPage(): Promise<BrowserPage>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = tempDir('foreman-chromium-');
  const child: ChildProcess = spawn(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (d) => (log = (log + d).slice(-4000)));
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  let next = 1;
  const pending = new Map<number, { resolve(value: any): void; reject(error: Error): void }>();
  const listeners = new Set<(message: any) => void>();
  let buffered = '';
  fromBrowser.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\0')) !== -1) {
      const message = JSON.parse(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
      const call = message.id !== undefined ? pending.get(message.id) : undefined;
      if (call) {
        pending.delete(message.id);
        if (message.error) call.reject(new Error(`${message.error.message}`));
        else call.resolve(message.result);
      }
      for (const listener of listeners) listener(message);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => {
    for (const call of pending.values()) call.reject(new Error(`chromium exited: ${log}`));
  });
  const send = (method: string, params: object = {}, sessionId?: string): Promise<any> =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) })}\0`);
    });
  const event = (method: string, sessionId: string, timeoutMs = 15_000): Promise<any> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => (listeners.delete(listener), reject(new Error(`no ${method} within ${timeoutMs} ms`))), timeoutMs);
      const listener = (message: any) => {
        if (message.method !== method || message.sessionId !== sessionId) return;
        clearTimeout(timer);
        listeners.delete(listener);
        resolve(message.params);
      };
      listeners.add(listener);
    });

  return {
    async newPage() {
      const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
      await send('Page.enable', {}, sessionId);
      const evaluate = async <T>(expression: string): Promise<T> => {
        const { result, exceptionDetails } = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId);
        if (exceptionDetails) throw new Error(`${expression}: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
        return result.value as T;
      };
      return {
        async goto(url) {
          const loaded = event('Page.loadEventFired', sessionId);
          const { errorText } = await send('Page.navigate', { url }, sessionId);
          if (errorText) throw new Error(`${url}: ${errorText}`);
          await loaded;
        },
        async navigateBy(expression) {
          const loaded = event('Page.loadEventFired', sessionId);
          await evaluate(`(${expression}, true)`);
          await loaded;
        },
        evaluate,
        text: () => evaluate<string>('document.body.innerText'),
      };
    },
    async close() {
      await send('Browser.close').catch(() => {});
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
