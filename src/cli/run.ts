// CLI entry: wires the process to main(). No logic here.
import { main } from './main.ts';

const controller = new AbortController();
let interrupts = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(`\nforeman: stopping (${signal}); press Ctrl-C again to quit at once\n`);
    controller.abort();
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
