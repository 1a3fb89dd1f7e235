#!/usr/bin/env -S node --no-node-snapshot
// isolated-vm needs --no-node-snapshot on Node 20+; the flag is in the shebang so `foreman` works
// wherever it is linked. Each front door has its own entry; this only picks one.
if (process.argv[2] === 'app') await import('../src/app/run.ts');
else if (process.argv[2] === 'worker') await import('../src/app/worker-run.ts');
else await import('../src/cli/run.ts');
