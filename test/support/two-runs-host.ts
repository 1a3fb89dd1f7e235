// One host running two runs at once, as the App's worker does (it takes up to --max-runs runs):
// test/hostile-host.test.ts runs this as a child process with the event-loop probe preloaded,
// one run's script hostile and the other's honest. Prints each outcome, and when each of the
// honest run's agents finished and the hostile run's first warnings and agent errors, as one JSON line.
import { fileURLToPath } from 'node:url';
import { startRun } from '../../src/service/runs.ts';

const [hostileRepo, honestRepo, home, baseURL] = process.argv.slice(2);
const env = {
  home: home!,
  userHome: home!,
  builtinDir: fileURLToPath(new URL('../../workflows/', import.meta.url)),
  apiKey: 'test-key',
  baseURL: baseURL!,
  commandEnv: { PATH: process.env.PATH },
};
const honestDone: number[] = [];
const hostileWarnings: string[] = [];
// Module loading holds the loop as any start-up does: let the probe note it first, then measure the runs.
await new Promise((resolve) => setTimeout(resolve, 100));
const runsFrom = Date.now();
const [hostile, honest] = await Promise.all([
  startRun({ ref: 'hostile', args: null, repoDir: hostileRepo!, base: 'HEAD' }, { ...env, listener: (event) => {
      const said = event.type === 'warn' ? event.message : event.type === 'agent-finished' ? event.error : undefined;
      if (said && hostileWarnings.length < 50) hostileWarnings.push(said.slice(0, 300));
    } }),
  startRun({ ref: 'honest', args: null, repoDir: honestRepo!, base: 'HEAD' }, { ...env, listener: (event) => event.type === 'agent-finished' && honestDone.push(Date.now()) }),
]);
const brief = (o: typeof hostile) => ({ status: o.status, error: o.error, result: o.result });
process.stdout.write(JSON.stringify({ runsFrom, hostile: brief(hostile), honest: brief(honest), honestDone, hostileWarnings }) + '\n');
