// What a workflow reference may open, through the real bin: a script's workflow() opens saved and
// built-in workflows by name only, never a host file (a FIFO that would hang the host, /dev/zero
// that would fill its memory, a path that would show where it runs); a saved workflow is read only
// when it is a regular file of the repository; a path is opened only when the user typed it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startFakeAnthropic, text } from './support/fake-anthropic.ts';
import { gitIn, makeRepo, tempDir } from './support/repo.ts';
import { startCli, type CliEnv, type CliResult } from './support/cli.ts';

const fake = await startFakeAnthropic({ handler: () => [text('ok')] });
after(() => fake.close());

const META = (name: string) => `export const meta = { name: '${name}', description: 'a hostile script' }\n`;

/** The bin, killed if it has not finished in `ms`: a hang shows as a failed assertion, not a stuck suite. */
async function runBounded(args: string[], env: CliEnv, cwd: string, ms = 30_000): Promise<CliResult & { timedOut: boolean }> {
  const { child, done } = startCli(args, env, cwd);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, ms);
  const result = await done;
  clearTimeout(timer);
  return { ...result, timedOut };
}

function mkfifo(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  execFileSync('mkfifo', [file]);
}

test("a script's workflow() with a FIFO, /dev/zero or a relative path opens nothing and shows no host path", async () => {
  const home = tempDir();
  const fifo = join(tempDir(), 'pipe.js');
  mkfifo(fifo);
  const script =
    META('refs') +
    `const refs = ${JSON.stringify([fifo, '/dev/zero', '../x', '../../etc/passwd.js', 'audit.js'])}
const got = []
for (const ref of refs) {
  try { await workflow(ref); got.push('opened ' + ref) } catch (e) { got.push(e.message) }
}
return got
`;
  const repo = makeRepo({ '.claude/workflows/refs.js': script, '.claude/workflows/audit.js': META('audit') + 'return 1\n' });
  const res = await runBounded(['run', 'refs', '--repo', repo, '--json'], { home, baseURL: fake.url }, repo);
  assert.equal(res.timedOut, false, 'the FIFO did not hang the host');
  assert.equal(res.code, 0, res.stderr);
  const got: string[] = JSON.parse(res.stdout).result;
  assert.equal(got.length, 5);
  for (const message of got) {
    assert.match(message, /is a file path: workflow\(\) and \/workflow run saved workflows \(\.claude\/workflows\/<name>\.js\) and built-in ones by name, never a file elsewhere\. Available workflows: .*audit/);
  }
  // The reference comes back as the script wrote it, never resolved against where the host runs.
  assert.deepEqual(got.map((message) => /^(".*?") is a file path/.exec(message)?.[1]), [fifo, '/dev/zero', '../x', '../../etc/passwd.js', 'audit.js'].map((ref) => JSON.stringify(ref)));
  assert.ok(got.every((message) => !message.includes(repo)), 'the working directory is not shown');
});

test('a saved workflow that is a FIFO, or a link out of the repository, is refused without reading it; a link inside it works', async () => {
  const home = tempDir();
  const repo = makeRepo({ 'scripts/inside.js': META('inside') + "return 'inside'\n" });
  mkfifo(join(repo, '.claude/workflows/fifo.js'));
  symlinkSync('/etc/passwd', join(repo, '.claude/workflows/leak.js'));
  symlinkSync('../../scripts/inside.js', join(repo, '.claude/workflows/inside.js'));
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-qm', 'links');

  const fifo = await runBounded(['run', 'fifo', '--repo', repo], { home, baseURL: fake.url }, repo);
  assert.equal(fifo.timedOut, false, 'the FIFO did not hang the host');
  assert.equal(fifo.code, 2, fifo.stderr);
  assert.match(fifo.stderr, /\.claude\/workflows\/fifo\.js is not a regular file \(a FIFO, socket or device\): a workflow is a \.js file/);

  const leak = await runBounded(['run', 'leak', '--repo', repo], { home, baseURL: fake.url }, repo);
  assert.equal(leak.code, 2, leak.stderr);
  assert.match(leak.stderr, /\.claude\/workflows\/leak\.js links outside the repository: a saved workflow must be a file of the repository/);
  assert.doesNotMatch(leak.stderr, /root:/, 'nothing of the file was read');

  const inside = await runBounded(['run', 'inside', '--repo', repo, '--json'], { home, baseURL: fake.url }, repo);
  assert.equal(inside.code, 0, inside.stderr);
  assert.equal(JSON.parse(inside.stdout).result, 'inside');
});

test('a path typed on `foreman run` opens only a regular file of at most 256 KB', async () => {
  const home = tempDir();
  const repo = makeRepo({ 'README.md': 'x\n' });
  const fifo = join(tempDir(), 'typed.js');
  mkfifo(fifo);
  const piped = await runBounded(['run', fifo, '--repo', repo], { home, baseURL: fake.url }, repo);
  assert.equal(piped.timedOut, false, 'the FIFO did not hang the host');
  assert.equal(piped.code, 2, piped.stderr);
  assert.match(piped.stderr, /typed\.js is not a regular file \(a FIFO, socket or device\)/);

  const huge = join(tempDir(), 'huge.js');
  writeFileSync(huge, META('huge') + `// ${'x'.repeat(300 * 1024)}\n`);
  const big = await runBounded(['run', huge, '--repo', repo], { home, baseURL: fake.url }, repo);
  assert.equal(big.code, 2, big.stderr);
  assert.match(big.stderr, /huge\.js is over 256 KB; workflow scripts may be at most 64 KB/);

  const mine = join(tempDir(), 'mine.js');
  writeFileSync(mine, META('mine') + "return 'typed'\n");
  const ok = await runBounded(['run', mine, '--repo', repo, '--json'], { home, baseURL: fake.url }, repo);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).result, 'typed');
});

test('`foreman validate` reads its file the same way: a FIFO is refused at once, a script over the cap is named', async () => {
  const home = tempDir();
  const fifo = join(tempDir(), 'piped.js');
  mkfifo(fifo);
  const piped = await runBounded(['validate', fifo], { home, baseURL: fake.url }, home);
  assert.equal(piped.timedOut, false, 'the FIFO did not hang validate');
  assert.equal(piped.code, 2, piped.stderr);
  assert.match(piped.stderr, /cannot read .*piped\.js: .*piped\.js is not a regular file \(a FIFO, socket or device\)/);
  const huge = join(tempDir(), 'huge.js');
  writeFileSync(huge, META('huge') + `// ${'x'.repeat(300 * 1024)}\n`);
  const big = await runBounded(['validate', huge], { home, baseURL: fake.url }, home);
  assert.equal(big.code, 2, big.stderr);
  assert.match(big.stderr, /huge\.js is over 256 KB/);
});
