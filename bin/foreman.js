#!/usr/bin/env -S node --no-node-snapshot
// isolated-vm needs --no-node-snapshot on Node 20+; the flag is in the shebang so `foreman` works
// wherever it is linked. Each front door has its own entry; this only picks one.
// The version check comes before any .ts import, in syntax old Nodes parse: an older Node would
// otherwise fail on the .ts extension with a stack instead of saying what to install.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`foreman: Foreman needs Node 24 or newer, and this is Node ${process.versions.node}: install Node 24 (https://nodejs.org, or \`nvm install 24\`) and run foreman with it\n`);
  process.exit(2);
}
if (process.argv[2] === 'app') await import('../src/app/run.ts');
else if (process.argv[2] === 'worker') await import('../src/app/worker-run.ts');
else await import('../src/cli/run.ts');
