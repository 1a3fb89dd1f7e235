// `foreman app` entry: wires the process to appMain(). One error path. No logic here.
import { useHostEnvironment } from '../workspace/git.ts';
import { appMain, AppUsageError } from './main.ts';

useHostEnvironment(process.env);

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());

try {
  process.exitCode = await appMain(process.argv.slice(3), { env: process.env, stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
} catch (error) {
  process.stderr.write(`foreman app: ${(error as Error).message}\n`);
  process.exitCode = error instanceof AppUsageError ? 2 : 1;
}
