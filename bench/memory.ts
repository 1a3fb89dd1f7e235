// Peak resident memory of the `foreman` process while a hostile script tries to grow it past the
// isolate's limit (issue #13, items 5 and 6): WebAssembly and resizable buffers, a flood of logs,
// huge failure messages and a huge thrown error. Each attempt is a run of its own, measured from
// /proc while it runs. `npm run bench -- memory [other/bin/foreman.js]` measures a second build
// (an older checkout) side by side.
import { spawn } from 'node:child_process';
import { startFakeAnthropic, text } from '../test/support/fake-anthropic.ts';
import { makeRepo, tempDir } from '../test/support/repo.ts';
import { BIN, cliEnv } from '../test/support/cli.ts';
import { watchPeakRss } from '../test/support/memory.ts';

export const TARGET_MB = 300;

/** Attempts scaled so that a host without the caps passes the target clearly. */
export const ATTEMPTS: Array<{ attack: string; body: string }> = [
  { attack: 'WebAssembly.Memory grow(4095): 256 MB', body: `const m = new WebAssembly.Memory({ initial: 1 }); m.grow(4095); new Uint8Array(m.buffer).fill(1)` },
  { attack: 'resizable ArrayBuffer resize: 512 MB', body: `const b = new ArrayBuffer(0, { maxByteLength: 2 ** 30 }); b.resize(2 ** 29); new Uint8Array(b).fill(1)` },
  { attack: '6,000 x 64 KB log()', body: `const chunk = 'y'.repeat(64 * 1024); for (let i = 0; i < 6000; i++) log(chunk)` },
  { attack: '12 x 32 MB failed parallel() items', body: `const big = 'x'.repeat(32 * 2 ** 20); await parallel(Array.from({ length: 12 }, (_, i) => async () => { throw new Error(i + big) }))` },
  { attack: 'a thrown 48 MB error', body: `throw new Error('z'.repeat(48 * 2 ** 20))` },
];

export interface MemoryRow {
  attack: string;
  peakMb: number;
  outputMb: number;
  exitCode: number | null;
  ms: number;
}

/** One run of `bin` per attempt; output is counted, not kept (an unbounded host writes gigabytes). */
export async function memoryBench(bin = BIN): Promise<MemoryRow[]> {
  const fake = await startFakeAnthropic({ handler: () => [text('ok')], record: false });
  const rows: MemoryRow[] = [];
  try {
    for (const { attack, body } of ATTEMPTS) {
      const repo = makeRepo({ 'README.md': 'bench\n', '.claude/workflows/attack.js': `export const meta = { name: 'attack', description: 'hostile' }\nawait agent('ping')\n${body}\nreturn 'done'\n` });
      const env = cliEnv({ home: tempDir(), baseURL: fake.url });
      const started = performance.now();
      const child = spawn(process.execPath, ['--no-node-snapshot', bin, 'run', 'attack', '--repo', repo, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const memory = watchPeakRss(child.pid!);
      let output = 0;
      for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk: Buffer) => (output += chunk.length));
      const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
      rows.push({ attack, peakMb: memory.stop(), outputMb: output / 2 ** 20, exitCode, ms: Math.round(performance.now() - started) });
    }
  } finally {
    await fake.close();
  }
  return rows;
}
