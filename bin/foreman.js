#!/usr/bin/env -S node --no-node-snapshot
// isolated-vm needs --no-node-snapshot on Node 20+; the flag is in the shebang so `foreman` works
// wherever it is linked.
import '../src/cli/run.ts';
