// Runs one workflow through the service in this process and prints what it cost the host:
// wall time inside the run, CPU, peak RSS. The fake model runs in the parent, so these figures
// are Foreman's alone. A fourth argument, a PostgreSQL URL, puts the run store there instead of
// the embedded SQLite file: the service's own DATABASE_URL selection, so the two figures differ by
// the store alone. With FANOUT_TIMELINE=1 it also prints where each agent's time went (timeline.ts).
import { startRun } from '../src/service/runs.ts';
import { fileURLToPath } from 'node:url';
import { recordTimeline } from './timeline.ts';

const [repo, ref, concurrency, databaseUrl] = process.argv.slice(2);
let runStartedAt = 0;
let runEndedAt = 0;
const timeline = process.env.FANOUT_TIMELINE === '1' ? recordTimeline() : null;
const cpuBefore = process.cpuUsage();
const outcome = await startRun(
  { ref, args: null, repoDir: repo, base: 'HEAD', concurrency: Number(concurrency) },
  {
    home: process.env.FOREMAN_HOME!,
    ...(databaseUrl ? { databaseUrl } : {}),
    userHome: process.env.HOME!,
    builtinDir: fileURLToPath(new URL('../workflows/', import.meta.url)),
    apiKey: 'bench',
    baseURL: process.env.ANTHROPIC_BASE_URL,
    commandEnv: process.env,
    listener: (event) => {
      if (event.type === 'run-started') runStartedAt = performance.now();
      if (event.type === 'run-finished') runEndedAt = performance.now();
      if (event.type === 'agent-started') timeline?.note('started');
      if (event.type === 'agent-finished') timeline?.note('finished');
    },
  },
);
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(
  JSON.stringify({
    runId: outcome.runId,
    status: outcome.status,
    agents: outcome.summary.agents,
    result: outcome.result,
    runWallMs: runEndedAt - runStartedAt,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    ...(timeline ? { timeline: timeline.result() } : {}),
  }) + '\n',
);
