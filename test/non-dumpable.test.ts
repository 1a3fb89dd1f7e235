// The processes that hold secrets mark themselves non-dumpable, so even a process of the same user
// outside the sandbox cannot read their /proc/<pid>/environ or /proc/<pid>/mem.
//
// "The same user" must mean no capabilities: root's CAP_SYS_PTRACE reads any process, and CI runs
// as root. So both sides run under setpriv with every capability dropped and root's special
// treatment off (securebits noroot): two plain processes of one user, as on a developer's machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BIN, cliEnv } from './support/cli.ts';
import { appPrivateKey, childrenOf, eventually } from './support/app-process.ts';
import { startFakeAnthropic, text, toolUse } from './support/fake-anthropic.ts';
import { makeRepo, tempDir } from './support/repo.ts';

const CAPLESS = process.getuid?.() === 0 ? ['setpriv', '--securebits', '+noroot,+noroot_locked', '--bounding-set', '-all', '--inh-caps', '-all', '--'] : [];
const NON_DUMPABLE = fileURLToPath(new URL('../src/service/non-dumpable.ts', import.meta.url));

function capless(argv: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const [program, ...args] = [...CAPLESS, ...argv];
  return spawn(program!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** What a capability-less process of the same user reads of `/proc/<pid>/<file>`: the text, or the error code. */
function readAsSameUser(pid: number, file: 'environ' | 'mem'): string {
  const script = `try { console.log(require('fs').readFileSync('/proc/${pid}/${file}', 'latin1').slice(0, 100000)) } catch (e) { console.log('ERROR ' + e.code) }`;
  const [program, ...args] = [...CAPLESS, process.execPath, '-e', script];
  return spawnSync(program!, args, { encoding: 'utf8' }).stdout.trim();
}

const stop = (child: ChildProcess): void => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};

test('a process marked non-dumpable keeps its environment from another process of its user; unmarked, the same reader gets it', async () => {
  const holder = (mark: boolean) =>
    capless([process.execPath, '--input-type=module', '-e', `${mark ? `import { markNonDumpable } from ${JSON.stringify(NON_DUMPABLE)}; console.log(JSON.stringify(markNonDumpable()));` : 'console.log("{}");'} setInterval(() => {}, 1000);`], { PATH: process.env.PATH, HELD_SECRET: 'hunter2' });
  for (const mark of [false, true]) {
    const child = holder(mark);
    try {
      const said = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString())));
      if (mark) assert.deepEqual(JSON.parse(said), { nonDumpable: true });
      const environ = readAsSameUser(child.pid!, 'environ');
      if (mark) {
        assert.equal(environ, 'ERROR EACCES');
        assert.equal(readAsSameUser(child.pid!, 'mem'), 'ERROR EACCES');
      } else {
        assert.match(environ, /HELD_SECRET=hunter2/, 'the reader can read a plain process of its user: the check can fail');
      }
    } finally {
      stop(child);
    }
  }
});

test("foreman app and its worker cannot be read by another process of their user", async () => {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: tempDir(), APP_ID: '1', PRIVATE_KEY: appPrivateKey(), WEBHOOK_SECRET: 's3cret', ANTHROPIC_API_KEY: 'sk-held', FOREMAN_HOME: tempDir(), LOG_LEVEL: 'info' };
  const app = capless([process.execPath, '--no-node-snapshot', BIN, 'app', '--port', '0', '--host', '127.0.0.1'], env);
  let stderr = '';
  app.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
  let stdout = '';
  app.stdout!.setEncoding('utf8').on('data', (d) => (stdout += d));
  try {
    await eventually(`foreman app to listen: ${stderr}`, () => /listening on/.test(stderr));
    // setpriv execs node in place: the app is the spawned pid.
    let worker: number | undefined;
    await eventually('the forked worker to have started', () => {
      worker = childrenOf(app.pid!)[0];
      return worker !== undefined && /\(foreman-worker\): worker started/.test(stdout);
    });
    for (const pid of [app.pid!, worker!]) {
      assert.equal(readAsSameUser(pid, 'environ'), 'ERROR EACCES', `pid ${pid}: ${stdout}`);
      assert.equal(readAsSameUser(pid, 'mem'), 'ERROR EACCES', `pid ${pid}`);
    }
    assert.doesNotMatch(stdout + stderr, /stays dumpable/);
  } finally {
    stop(app);
  }
});

test("with --no-sandbox, an agent's command walks up its parents and finds no API key", async () => {
  const walk = String.raw`
    const fs = require('fs');
    let pid = process.ppid, found = [];
    for (let i = 0; i < 4 && pid > 1; i++) {
      try { if (fs.readFileSync('/proc/' + pid + '/environ', 'utf8').includes('ANTHROPIC_API_KEY')) found.push(pid); } catch (e) { found.push('unreadable ' + e.code); }
      pid = Number(fs.readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].split(' ')[1]);
    }
    console.log('walk: ' + found.join(', '));`;
  const fake = await startFakeAnthropic({
    handler: (req) => (req.turn === 0 ? [toolUse('run_command', { command: 'node walk.cjs' })] : [text('done')]),
  });
  try {
    const home = tempDir('foreman-user-');
    const repo = makeRepo({
      '.github/foreman.yml': 'agents:\n  commands:\n    - node walk.cjs\n',
      'walk.cjs': walk,
      '.claude/workflows/walk.js': "export const meta = { name: 'walk', description: 'reads its parents' }\nreturn await change('walk up your parents', { label: 'walk' })\n",
    });
    const cli = capless([process.execPath, '--no-node-snapshot', BIN, 'run', 'walk', '--repo', repo, '--no-sandbox', '--json'], cliEnv({ home, baseURL: fake.url, apiKey: 'sk-ant-held' }));
    let stderr = '';
    cli.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => cli.on('close', resolve));
    assert.equal(code, 0, stderr);
    const [result] = fake.requests.find((r) => r.turn === 1)!.lastToolResults;
    assert.match(result.content, /walk: unreadable EACCES/, 'the CLI, its parent, is closed');
    assert.doesNotMatch(result.content, /walk: \d|, \d/, `no parent's environment held the key: ${result.content}`);
  } finally {
    await fake.close();
  }
});
