// Work held by processes that are gone goes back in line; work of live processes, or of other
// hosts, stays where it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { holderGone, holderName, releaseGoneHolders } from '../src/app/holders.ts';
import { SqliteRunRegistry } from '../src/app/run-registry.ts';
import { SqliteWorkQueue } from '../src/runtime/sqlite-queue.ts';
import { tempDir } from './support/repo.ts';

/** The holder name a short-lived child process had, once it has exited. */
async function goneHolder(): Promise<string> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `import { holderName } from ${JSON.stringify(new URL('../src/app/holders.ts', import.meta.url).href)}; process.stdout.write(holderName('worker'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  await new Promise((resolve) => child.on('close', resolve));
  return out;
}

test('a holder is gone when its process is, never when it is this process or on another host', async () => {
  const mine = holderName('app');
  assert.match(mine, new RegExp(`^app:${hostname()}:${process.pid}:\\d+/$`));
  assert.equal(holderGone(mine), false);
  const gone = await goneHolder();
  assert.equal(holderGone(gone), true);
  // The same pid with another start time is a recycled pid: the original is gone.
  assert.equal(holderGone(mine.replace(/:\d+\/$/, ':1/')), true);
  assert.equal(holderGone(gone.replace(`:${hostname()}:`, ':elsewhere:')), false);
  // A thread's own part of its process's name is judged by the process.
  assert.equal(holderGone(`${mine}intake-3/`), false);
  assert.equal(holderGone(`${gone}intake-3/`), true);
});

test("the jobs and active runs of a gone worker go back in line; a live one's stay", async () => {
  const file = join(tempDir(), 'foreman.db');
  const queue = new SqliteWorkQueue(file);
  const registry = new SqliteRunRegistry(file);
  const gone = await goneHolder();
  const live = holderName('worker');
  await queue.enqueue('start', 'a', {});
  await queue.enqueue('start', 'b', {});
  await queue.claim(['start'], gone);
  await queue.claim(['start'], live);
  const context = { installationId: 1, owner: 'o', repo: 'r', cloneUrl: 'x', defaultBranch: 'main', issueNumber: 1, isPullRequest: true, trigger: 't', author: 'a', workflow: 'w', args: null, config: {} };
  const begun = await registry.begin(context, { key: 'a', holder: gone });
  assert.ok('begun' in begun);
  assert.equal(await releaseGoneHolders(queue, registry), 1);
  assert.deepEqual(await queue.counts(), { queued: 1, claimed: 1 });
  assert.equal((await registry.byId(begun.begun.id))!.status, 'interrupted');
  // The job is claimed again: its run entry comes back as work to continue, not a second run.
  const again = await registry.begin(context, { key: 'a', holder: live });
  assert.ok('again' in again);
  await queue.close();
  await registry.close();
});
