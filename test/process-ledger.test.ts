// Commands a killed Foreman leaves running are found and killed by the next run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessLedger } from '../src/workspace/process-ledger.ts';
import { runProcess } from '../src/workspace/command.ts';
import { tempDir } from './support/repo.ts';

/** A live (not zombie) process in group `pgid`; killed orphans stay zombies where PID 1 does not reap. */
const groupAlive = (pgid: number): boolean =>
  readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .some((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(group) === pgid && state !== 'Z';
      } catch {
        return false;
      }
    });

test('a group whose Foreman was SIGKILLed is killed by reapOrphans; a live owner\'s is left alone', async () => {
  const dir = join(tempDir(), 'processes');
  const foreman = `
    import { runProcess } from ${JSON.stringify(new URL('../src/workspace/command.ts', import.meta.url).href)};
    import { ProcessLedger } from ${JSON.stringify(new URL('../src/workspace/process-ledger.ts', import.meta.url).href)};
    runProcess(['sh', '-c', 'sleep 30 & sleep 31'], { cwd: '/', env: { PATH: process.env.PATH }, timeoutMs: 60000, ledger: new ProcessLedger(${JSON.stringify(dir)}) });
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', foreman], { stdio: 'ignore' });
  let entries: string[] = [];
  for (let i = 0; i < 100 && entries.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    entries = (() => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    })();
  }
  assert.equal(entries.length, 1, 'the running group is written down');
  const pgid = Number.parseInt(entries[0], 10);
  const ledger = new ProcessLedger(dir);
  assert.deepEqual(ledger.reapOrphans(), [], 'its Foreman is alive: not touched');
  assert.ok(groupAlive(pgid));

  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));
  assert.ok(groupAlive(pgid), 'SIGKILL left the commands running');
  assert.deepEqual(ledger.reapOrphans(), [pgid]);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(!groupAlive(pgid), 'the whole group is gone');
  assert.deepEqual(readdirSync(dir), []);
});

test('an entry whose group no longer carries its marker (a recycled id) is dropped, not killed', async () => {
  const dir = join(tempDir(), 'processes');
  // This very process group, recorded with a marker none of its processes has.
  const ledger = new ProcessLedger(dir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify({ owner: 999_999_999, marker: 'not-our-marker', command: 'node', startedAt: '' }));
  assert.deepEqual(ledger.reapOrphans(() => false), []);
  assert.deepEqual(readdirSync(dir), []);
});

test('a command that ends normally leaves no entry behind', async () => {
  const dir = join(tempDir(), 'processes');
  const result = await runProcess(['sh', '-c', 'echo $FOREMAN_PROCESS_MARKER'], { cwd: '/', env: { PATH: process.env.PATH }, timeoutMs: 10_000, ledger: new ProcessLedger(dir) });
  assert.equal(result.exitCode, 0);
  assert.match(result.output, /^[0-9a-f]{24}\n$/, 'the command carries its marker');
  assert.deepEqual(readdirSync(dir), []);
});
