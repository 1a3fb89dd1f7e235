// CLI entry: wires the process to main(). No logic here.
import { useHostEnvironment } from '../workspace/git.ts';
import { main } from './main.ts';

// The one place the CLI's environment is read: git starts from it (minus secrets) from here on.
useHostEnvironment(process.env);

const controller = new AbortController();
let interrupts = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    // main() says it is stopping, through the live table if one is drawn.
    controller.abort();
  });
}

// A reader that goes away (`foreman runs | head`) is not an error: stop writing, quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  // A getter: touching process.stdin opens it, and only a generated run asks for approval.
  get stdin() {
    return process.stdin;
  },
  env: process.env,
  signal: controller.signal,
});
