// `foreman app` over its lifetime, as the real process: its parts (webhook server, intake thread,
// worker) keep working, are started again when they die, and /healthz says which one is down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { appPrivateKey, childrenOf, deliver, eventually, processesWithEnv, startAppProcess, type AppProcess } from './support/app-process.ts';
import { startFakeAppApi, type FakeAppApi } from './support/fake-app-api.ts';
import { exitThread, inspectorUrl, stallThread } from './support/inspector.ts';
import { exampleComment } from './support/github-app.ts';
import { tempDir } from './support/repo.ts';

const SECRET = 's3cret';

interface Health {
  ok: boolean;
  down?: string[];
  parts: Record<string, string>;
}

async function health(url: string): Promise<{ status: number; body: Health }> {
  const response = await fetch(`${url}/healthz`);
  return { status: response.status, body: (await response.json()) as Health };
}

function appEnv(api: FakeAppApi | null, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    APP_ID: '1',
    PRIVATE_KEY: appPrivateKey(),
    WEBHOOK_SECRET: SECRET,
    ANTHROPIC_API_KEY: 'k',
    FOREMAN_HOME: tempDir(),
    LOG_LEVEL: 'fatal',
    ...(api ? { GHE_HOST: api.host, GHE_PROTOCOL: 'http' } : {}),
    ...extra,
  };
}

/** Comments `/workflow help` on Codertocat/Hello-World#1 and waits for the App's answer there. */
async function helpIsAnswered(app: AppProcess, url: string, api: FakeAppApi, id: string): Promise<void> {
  const payload = exampleComment();
  payload.comment.body = '/workflow help';
  const before = api.replies.length;
  assert.equal((await deliver(url, 'issue_comment', payload, SECRET, id)).status, 200);
  const reply = await eventually(`the answer to ${id}; calls: ${api.calls.join(', ')}; log: ${app.stdout()}`, () => api.replies.slice(before).find((r) => r.issue === 'Codertocat/Hello-World#1'));
  assert.match(reply.body, /^\*\*Foreman\*\* runs workflows on this repository/);
}

/** A GitHub that takes connections and never answers (GHE_HOST=host): every schedule look hangs. */
async function silentGitHub(): Promise<{ host: string; connections: () => number; close(): void }> {
  const sockets = new Set<import('node:net').Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket.on('close', () => sockets.delete(socket)).on('error', () => {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** A GitHub address where nothing listens: every request is refused. */
async function refusingGitHub(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

/** The exit code and how long after `since` it came; 'hung' (and SIGKILL to its group) after `ms`. */
async function exitWithin(app: AppProcess, since: number, ms: number): Promise<{ code: number | null | 'hung'; tookMs: number }> {
  const code = await Promise.race([app.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms).unref())]);
  const tookMs = Date.now() - since;
  if (code === 'hung') process.kill(app.child.pid!, 'SIGKILL');
  return { code, tookMs };
}

async function stop(app: AppProcess): Promise<void> {
  app.child.kill('SIGTERM');
  const code = await Promise.race([app.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000).unref())]);
  if (code === 'hung') app.child.kill('SIGKILL');
  assert.equal(code, 0, `foreman app stops on SIGTERM: ${app.stderr()}`);
}

test('a repository whose config does not parse costs the App nothing: after several schedule ticks a comment is still answered and /healthz is up', async () => {
  const api = await startFakeAppApi('Codertocat', { broken: 'schedules: [\n  - cron: "0 3 * * 1"\n', 'Hello-World': null });
  const app = startAppProcess(appEnv(api, { FOREMAN_SCHEDULE_INTERVAL_MS: '150', LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }), ['--port', '0', '--host', '127.0.0.1', '--no-worker']);
  try {
    const url = await app.listening;
    const configReads = () => api.calls.filter((c) => c === 'GET /repos/Codertocat/broken/contents/.github%2Fforeman.yml').length;
    await eventually(`three schedule ticks; calls: ${api.calls.join(', ')}; stderr: ${app.stderr()}`, () => configReads() >= 3);

    // The log line of a tick may reach stdout a little after its GitHub call.
    const skipped = () => app.stdout().split('\n').filter((line) => line.includes('schedules skipped')).map((line) => JSON.parse(line));
    const warnings = await eventually(`each tick logged the broken config: ${app.stdout()}`, () => (skipped().length >= 3 ? skipped() : null));
    assert.equal(warnings[0].repo, 'Codertocat/broken');
    assert.match(warnings[0].err, /could not be read/);
    assert.doesNotMatch(warnings[0].err, /::/, "YAML's trailing colon is not doubled");
    assert.doesNotMatch(app.stderr(), /intake thread failed/);

    await helpIsAnswered(app, url, api, 'after-ticks');
    const { status, body } = await health(url);
    assert.equal(status, 200);
    assert.deepEqual(body, { ok: true, parts: { 'webhook server': 'up', 'intake thread': 'up', store: 'up' } }, 'up or down per part and nothing else: no job counts for whoever asks');
  } finally {
    await stop(app);
    api.close();
  }
});

test('an intake thread that dies is started again, and /healthz answers 503 naming it until it is back', async () => {
  const api = await startFakeAppApi('Codertocat', { 'Hello-World': null });
  const app = startAppProcess(appEnv(api, { LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }), ['--port', '0', '--host', '127.0.0.1', '--no-worker'], { nodeArgs: ['--inspect=127.0.0.1:0'] });
  try {
    const url = await app.listening;
    assert.equal((await health(url)).status, 200);

    await exitThread(inspectorUrl(app.stderr())!, '/src/app/intake-thread.ts', 7);
    const down = await eventually('/healthz to report the thread down', async () => {
      const answer = await health(url);
      return answer.status !== 200 && answer;
    });
    assert.equal(down.status, 503);
    assert.deepEqual(down.body.down, ['intake thread']);
    assert.equal(down.body.parts['webhook server'], 'up');

    await eventually('/healthz to be up again', async () => (await health(url)).status === 200);
    const restarted = app.stdout().split('\n').filter(Boolean).map((line) => JSON.parse(line)).find((entry) => /intake thread stopped/.test(entry.msg));
    assert.ok(restarted, `the restart was logged: ${app.stdout()}`);
    assert.equal(restarted.exit, 7);
    await helpIsAnswered(app, url, api, 'after-restart');
  } finally {
    await stop(app);
    api.close();
  }
});

test('an intake thread whose loop is stuck counts as down and is replaced, and comments are answered again', async () => {
  const api = await startFakeAppApi('Codertocat', { 'Hello-World': null });
  const app = startAppProcess(appEnv(api, { LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }), ['--port', '0', '--host', '127.0.0.1', '--no-worker'], { nodeArgs: ['--inspect=127.0.0.1:0'] });
  try {
    const url = await app.listening;
    assert.equal((await health(url)).status, 200);

    // The thread claims a comment and waits on GitHub for the commenter's role...
    api.holdRoles = true;
    const payload = exampleComment();
    payload.comment.body = '/workflow help';
    assert.equal((await deliver(url, 'issue_comment', payload, SECRET, 'held-by-the-stuck-thread')).status, 200);
    await eventually('the comment in hand', () => api.calls.some((c) => c.endsWith('/collaborators/Codertocat/permission')));
    // ...and gets stuck with it: alive, so no exit for the supervisor to see, only the missing heartbeat.
    await stallThread(inspectorUrl(app.stderr())!, '/src/app/intake-thread.ts');
    api.holdRoles = false;
    const down = await eventually('/healthz to report the stuck thread down', async () => {
      const answer = await health(url);
      return answer.status !== 200 && answer;
    }, 20_000);
    assert.deepEqual(down.body.down, ['intake thread']);
    await eventually('a new intake thread', async () => (await health(url)).status === 200, 20_000);
    assert.match(app.stdout(), /the intake thread has not answered for 10 s/);
    // The comment the stuck thread held goes back in line at once (its process is alive) and is answered.
    await eventually(`the held comment answered; calls: ${api.calls.join(', ')}`, () => api.replies.some((r) => r.issue === 'Codertocat/Hello-World#1'), 20_000);
    await helpIsAnswered(app, url, api, 'after-stall');
  } finally {
    await stop(app);
    api.close();
  }
});

test('a worker that dies is started again, and /healthz answers 503 naming it until it is back', async () => {
  const app = startAppProcess(appEnv(null));
  try {
    const url = await app.listening;
    assert.deepEqual((await health(url)).body.parts, { 'webhook server': 'up', 'intake thread': 'up', worker: 'up', store: 'up' });
    const [worker] = childrenOf(app.child.pid!);
    process.kill(worker, 'SIGKILL');
    const down = await eventually('/healthz to report the worker down', async () => {
      const answer = await health(url);
      return answer.status !== 200 && answer;
    });
    assert.equal(down.status, 503);
    assert.deepEqual(down.body.down, ['worker']);
    await eventually('/healthz to be up again', async () => (await health(url)).status === 200);
    assert.notEqual(childrenOf(app.child.pid!)[0], worker, 'a new worker');
  } finally {
    await stop(app);
  }
});

test('SIGTERM to the whole process group (Ctrl-C, systemd, timeout): the worker stops with it and is not started again, and the app exits 0 within seconds', async () => {
  const github = await silentGitHub();
  const env = appEnv(null, { GHE_HOST: github.host, GHE_PROTOCOL: 'http', FOREMAN_SCHEDULE_INTERVAL_MS: '100', LOG_LEVEL: 'info', LOG_FORMAT: 'json' });
  const app = startAppProcess(env, undefined, { detached: true });
  try {
    await app.listening;
    const log = () => app.stdout().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string; name: string });
    await eventually(`the worker's start in the log: ${app.stdout()}`, () => log().some((e) => e.msg === 'worker started'));
    // A schedule look is waiting on GitHub, so the app's own stop is not instant: time for a restart to show.
    await eventually('a schedule look waiting on GitHub', () => github.connections() > 0);

    const signalled = Date.now();
    process.kill(-app.child.pid!, 'SIGTERM');
    const { code, tookMs } = await exitWithin(app, signalled, 15_000);
    assert.ok(log().some((e) => e.name === 'foreman-worker' && /^worker stopping/.test(e.msg)), `the worker got the signal: ${app.stdout()}`);
    assert.deepEqual(log().filter((e) => /stopped; starting it again/.test(e.msg)), [], 'nothing is started again once the app is stopping');
    assert.equal(log().filter((e) => e.msg === 'worker started').length, 1, app.stdout());
    assert.equal(code, 0, app.stderr());
    assert.ok(tookMs < 5_000, `stopped in ${tookMs} ms`);
    assert.deepEqual(processesWithEnv(`FOREMAN_HOME=${env.FOREMAN_HOME}`), [], 'no process of this app is left');
  } finally {
    if (app.child.exitCode === null && app.child.signalCode === null) process.kill(-app.child.pid!, 'SIGKILL');
    github.close();
  }
});

test('stopping while GitHub does not answer, or refuses, takes seconds, not the 10 s grace: the schedule look in hand is not waited for', async () => {
  const silent = await silentGitHub();
  try {
    for (const host of [silent.host, await refusingGitHub()]) {
      const app = startAppProcess(appEnv(null, { GHE_HOST: host, GHE_PROTOCOL: 'http', FOREMAN_SCHEDULE_INTERVAL_MS: '100' }), ['--port', '0', '--host', '127.0.0.1', '--no-worker']);
      try {
        await app.listening;
        // Silent: a request is hanging. Refused: Octokit is between retries.
        if (host === silent.host) await eventually('a schedule look waiting on GitHub', () => silent.connections() > 0);
        else await new Promise((r) => setTimeout(r, 1_500));
        const signalled = Date.now();
        app.child.kill('SIGTERM');
        const { code, tookMs } = await exitWithin(app, signalled, 15_000);
        assert.equal(code, 0, `${host}: ${app.stderr()}`);
        assert.ok(tookMs < 3_000, `with GitHub at ${host === silent.host ? 'a silent' : 'a refusing'} address, stopped in ${tookMs} ms`);
      } finally {
        if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
      }
    }
  } finally {
    silent.close();
  }
});

test('a port in use: exit 1 within seconds, with a message that names --port, and no worker left behind', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as AddressInfo).port;
  const env = appEnv(null);
  const app = startAppProcess(env, ['--port', String(port), '--host', '127.0.0.1']);
  try {
    const code = await Promise.race([app.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000).unref())]);
    if (code === 'hung') app.child.kill('SIGKILL');
    assert.equal(code, 1, app.stderr());
    assert.match(app.stderr(), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use .*--port`));
    assert.doesNotMatch(app.stderr(), /ERR_IPC_DISCONNECTED/);
    assert.deepEqual(processesWithEnv(`FOREMAN_HOME=${env.FOREMAN_HOME}`), [], 'no process of this app is left');
  } finally {
    taken.close();
  }
});

test('the App and its worker log alike: timestamped text by default, JSON lines with LOG_FORMAT=json, at LOG_LEVEL; a delivery is logged as foreman-app', async () => {
  const api = await startFakeAppApi('Codertocat', { 'Hello-World': null });
  try {
    for (const format of ['pretty', 'json'] as const) {
      const app = startAppProcess(appEnv(api, { LOG_LEVEL: 'info', ...(format === 'json' ? { LOG_FORMAT: 'json' } : {}) }));
      try {
        const url = await app.listening;
        const logged = () => app.stdout().split('\n').filter(Boolean);
        await eventually(`both processes' start in the log: ${app.stdout()}`, () => logged().some((l) => l.includes('foreman-worker')) && logged().some((l) => l.includes('the intake thread started')));
        await helpIsAnswered(app, url, api, `log-${format}`);
        await eventually(`the delivery in the log: ${app.stdout()}`, () => logged().some((l) => l.includes('/workflow help queued')));
        if (format === 'json') {
          const entries = logged().filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
          assert.ok(entries.some((e) => e.name === 'foreman-worker' && e.msg === 'worker started' && e.level === 30));
          assert.ok(entries.some((e) => e.name === 'foreman-app' && e.msg === 'the intake thread started'));
          assert.equal(entries.find((e) => e.msg === '/workflow help queued')?.name, 'foreman-app');
        } else {
          assert.ok(logged().every((line) => !line.startsWith('{')), `no JSON lines: ${app.stdout()}`);
          // The local time first, as pino-pretty's translateTime writes it.
          const at = String.raw`^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] `;
          assert.ok(logged().some((line) => new RegExp(`${at}INFO \\(foreman-worker\\): worker started`).test(line)), app.stdout());
          assert.ok(logged().some((line) => new RegExp(`${at}INFO \\(foreman-app\\): the intake thread started`).test(line)), app.stdout());
          assert.ok(logged().some((line) => new RegExp(`${at}INFO \\(foreman-app\\): /workflow help queued`).test(line)), app.stdout());
          assert.doesNotMatch(app.stdout(), /\(event\)/, 'every line is named as README lists');
        }
      } finally {
        await stop(app);
      }
    }
  } finally {
    api.close();
  }
  const quiet = startAppProcess(appEnv(null, { LOG_LEVEL: 'warn' }));
  try {
    await quiet.listening;
    assert.equal((await health(await quiet.listening)).status, 200);
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await stop(quiet);
  }
  assert.equal(quiet.stdout(), '', 'LOG_LEVEL=warn leaves out the info lines of both');
});

test('bad LOG_LEVEL, LOG_FORMAT or FOREMAN_SCHEDULE_INTERVAL_MS: exit 2 naming the variable and what it takes', async () => {
  for (const [name, value, message] of [
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "loud"/],
    ['LOG_FORMAT', 'xml', /LOG_FORMAT must be pretty or json; got "xml"/],
    ['FOREMAN_SCHEDULE_INTERVAL_MS', '5', /FOREMAN_SCHEDULE_INTERVAL_MS must be a whole number of milliseconds, at least 100; got "5"/],
  ] as const) {
    const app = startAppProcess(appEnv(null, { [name]: value }));
    await assert.rejects(app.listening, message);
    assert.equal(await app.exited, 2);
  }
});
