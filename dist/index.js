// GitHub runs `node dist/index.js`. isolated-vm needs --no-node-snapshot, which only a new
// process can be given: run the Action in one, with the same environment and output.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
const child = spawn(process.execPath, ['--no-node-snapshot', fileURLToPath(new URL('./main.js', import.meta.url))], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
