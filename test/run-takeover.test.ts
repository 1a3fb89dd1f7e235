// A worker whose run was taken over by another (its queue lease lapsed while it went on) stops at
// its first refused write: no more model calls, nothing more in the store, and the error says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeAnthropic, text } from './support/fake-anthropic.ts';
import { serviceEnv, runScript } from './support/service.ts';
import { openStore } from '../src/service/runs.ts';
import { RunTakenOverError } from '../src/contracts/store.ts';

test('a run taken over mid-agent stops there: its later agents never call the model, and none of its writes land', async (t) => {
  const asked: string[] = [];
  let answerFirst!: () => void;
  const firstMayAnswer = new Promise<void>((resolve) => (answerFirst = resolve));
  let firstAsked!: () => void;
  const firstWasAsked = new Promise<void>((resolve) => (firstAsked = resolve));
  const fake = await startFakeAnthropic({
    handler: async (req) => {
      asked.push(req.prompt);
      if (req.prompt === 'first') {
        firstAsked();
        await firstMayAnswer;
      }
      return [text(`answer to ${req.prompt}`)];
    },
  });
  t.after(() => fake.close());

  let runId = '';
  const env = serviceEnv(fake.url, [], { config: {}, onRunId: (id) => { runId = id; } });
  const running = runScript(
    // A script that carries on past a failed agent: the takeover must stop it all the same.
    "let a\ntry { a = await agent('first') } catch (error) { a = String(error) }\nconst b = await agent('second')\nreturn [a, b]",
    env,
  ).then(
    (outcome) => outcome,
    (error: unknown) => error,
  );
  await firstWasAsked;

  // Another worker got the run's lease and claimed it, while this one waits on its first agent.
  const other = await openStore(env.home);
  assert.equal(await other.claimRun(runId, 999_999, { takeOver: true }), true);
  answerFirst();
  const ended = await running;

  assert.ok(ended instanceof RunTakenOverError, `the run ended with ${JSON.stringify(ended)}`);
  assert.match(ended.message, new RegExp(`run ${runId} was taken over by another worker \\(generation 2 > 1\\); this worker stops`));
  assert.deepEqual(asked, ['first'], 'no model call after the takeover');
  assert.deepEqual(await other.loadJournal(runId), []);
  assert.deepEqual(await other.listAgents(runId), []);
  const run = await other.getRun(runId);
  assert.deepEqual([run?.status, run?.pid, run?.result], ['running', 999_999, null], 'the run is the new holder\'s to finish');
  await other.close();
});
