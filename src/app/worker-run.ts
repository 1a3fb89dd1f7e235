// `foreman worker` entry: wires the process to workerMain(). One error path. No logic here.
import type { StopMessage } from './token-broker.ts';
import { workerMain, WorkerUsageError } from './worker-main.ts';
import { useHostEnvironment } from '../workspace/git.ts';

useHostEnvironment(process.env);

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());
// Forked by `foreman app`: when the app stops (or goes), so does the worker.
process.once('disconnect', () => controller.abort());
process.on('message', (message: StopMessage) => message?.type === 'stop' && controller.abort());

try {
  process.exitCode = await workerMain(process.argv.slice(3), { env: process.env, stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
} catch (error) {
  process.stderr.write(`foreman worker: ${(error as Error).message}\n`);
  process.exitCode = error instanceof WorkerUsageError ? 2 : 1;
}
// The IPC channel would keep a forked worker alive after its work is done.
process.disconnect?.();
