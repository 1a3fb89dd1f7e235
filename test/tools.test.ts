import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { executeTool, MAX_LIST_ENTRIES, READ_TOOLS } from '../src/agents/tools.ts';

const git = (cwd: string, ...args: string[]) =>
  promisify(execFile)('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd });

/** A committed git repository with `files`, plus a sibling directory outside it. */
async function makeRepo(files: Record<string, string>): Promise<{ base: string; root: string; outside: string }> {
  const base = await mkdtemp(path.join(tmpdir(), 'foreman-tools-'));
  const root = path.join(base, 'repo');
  const outside = path.join(base, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret.txt'), 'TOP-SECRET-VALUE\n');
  await mkdir(root);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
  await git(root, 'init', '-q', '-b', 'main');
  await git(root, 'add', '-A');
  await git(root, 'commit', '-q', '-m', 'fixture');
  return { base, root, outside };
}

describe('read-only tools', () => {
  let base: string;
  let root: string;
  let outside: string;

  before(async () => {
    const numbered = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    ({ base, root, outside } = await makeRepo({
      'README.md': '# Demo\nfetch the thing\n',
      'src/app.ts': 'export function handler() {\n  return fetch("/api");\n}\n',
      'src/lib/util.ts': 'export const add = (a: number, b: number) => a + b;\n',
      'src/lib/util.test.ts': 'import { add } from "./util";\n',
      'docs/numbered.txt': numbered,
      'bin/blob.dat': 'abc\0def',
    }));
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'leak.txt'));
    await symlink(outside, path.join(root, 'leakdir'));
    await symlink('src/app.ts', path.join(root, 'inside-link.ts'));
  });
  after(() => rm(base, { recursive: true, force: true }));

  test('definitions name the fixed tools with object schemas', () => {
    assert.deepEqual(
      READ_TOOLS.map((t) => t.name),
      ['list_files', 'read_file', 'search'],
    );
    for (const tool of READ_TOOLS) assert.equal(tool.input_schema.type, 'object');
  });

  describe('confinement', () => {
    const refusals: Array<[string, string, Record<string, unknown>, RegExp]> = [
      ['.. escaping the root', 'read_file', { path: '../outside/secret.txt' }, /outside the repository root/],
      ['.. hidden in the middle', 'read_file', { path: 'src/../../outside/secret.txt' }, /outside the repository root/],
      ['an absolute path', 'read_file', { path: '/etc/passwd' }, /absolute path/],
      ['a symlink to a file outside', 'read_file', { path: 'leak.txt' }, /symbolic link that leads outside/],
      ['a file through a symlinked directory', 'read_file', { path: 'leakdir/secret.txt' }, /symbolic link that leads outside/],
      ['listing a symlinked directory', 'list_files', { path: 'leakdir' }, /symbolic link that leads outside/],
      ['listing with ..', 'list_files', { path: '..' }, /outside the repository root/],
      ['searching a symlinked directory', 'search', { pattern: 'SECRET', path: 'leakdir' }, /symbolic link that leads outside/],
      ['searching an absolute path', 'search', { pattern: 'x', path: '/tmp' }, /absolute path/],
      ['reading inside .git', 'read_file', { path: '.git/config' }, /inside \.git/],
    ];
    for (const [what, tool, input, message] of refusals) {
      test(`refuses ${what} as a tool error`, async () => {
        const result = await executeTool(tool, input, { root });
        assert.equal(result.isError, true, result.output);
        assert.match(result.output, message);
        assert.doesNotMatch(result.output, /TOP-SECRET-VALUE/);
      });
    }

    test('a .. that stays inside the root is fine', async () => {
      const result = await executeTool('read_file', { path: 'src/../README.md' }, { root });
      assert.equal(result.isError, false);
      assert.match(result.output, /# Demo/);
    });

    test('a symlink that stays inside the root is followed', async () => {
      const result = await executeTool('read_file', { path: 'inside-link.ts' }, { root });
      assert.equal(result.isError, false);
      assert.match(result.output, /export function handler/);
    });

    test('search never reads through a symlink out', async () => {
      await git(root, 'add', 'leak.txt', 'leakdir');
      const result = await executeTool('search', { pattern: 'TOP-SECRET' }, { root });
      assert.equal(result.isError, false);
      assert.equal(result.output, 'No matches.');
    });

    test('list_files lists symlinked directories without following them', async () => {
      const result = await executeTool('list_files', {}, { root });
      assert.equal(result.isError, false);
      assert.match(result.output, /^leakdir$/m);
      assert.doesNotMatch(result.output, /secret\.txt/);
    });
  });

  describe('read_file', () => {
    test('numbers lines and honours offset and limit', async () => {
      const result = await executeTool('read_file', { path: 'docs/numbered.txt', offset: 10, limit: 3 }, { root });
      assert.equal(result.isError, false);
      const lines = result.output.split('\n');
      assert.deepEqual(lines.slice(0, 3), ['    10\tline 10', '    11\tline 11', '    12\tline 12']);
      assert.match(lines[3], /more lines follow; continue with offset=13/);
    });

    test('reading to the end has no continuation note', async () => {
      const result = await executeTool('read_file', { path: 'docs/numbered.txt', offset: 29 }, { root });
      assert.equal(result.output, '    29\tline 29\n    30\tline 30');
    });

    test('an offset past the end says so', async () => {
      const result = await executeTool('read_file', { path: 'docs/numbered.txt', offset: 99 }, { root });
      assert.equal(result.isError, false);
      assert.match(result.output, /30 lines; offset 99 is past the end/);
    });

    test('caps output at about 100 KB', async () => {
      const big = path.join(root, 'big.txt');
      await writeFile(big, `${'x'.repeat(100)}\n`.repeat(5_000));
      const result = await executeTool('read_file', { path: 'big.txt', limit: 5_000 }, { root });
      assert.ok(result.output.length < 110_000);
      assert.match(result.output, /output capped at 100 KB; continue with offset=\d+/);
    });

    test('bad input, directories, binaries and missing files are tool errors', async () => {
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{}, /"path" is required/],
        [{ path: 'README.md', offset: 0 }, /"offset" must be a positive integer/],
        [{ path: 'src' }, /is a directory; use list_files/],
        [{ path: 'bin/blob.dat' }, /binary file/],
        [{ path: 'nope.txt' }, /no such file or directory/],
      ];
      for (const [input, message] of cases) {
        const result = await executeTool('read_file', input, { root });
        assert.equal(result.isError, true);
        assert.match(result.output, message);
      }
    });
  });

  describe('list_files', () => {
    test('lists recursively relative to the root, without .git', async () => {
      const result = await executeTool('list_files', {}, { root });
      const entries = result.output.split('\n');
      for (const expected of ['README.md', 'src/app.ts', 'src/lib/util.ts', 'docs/numbered.txt']) {
        assert.ok(entries.includes(expected), `${expected} in ${result.output}`);
      }
      assert.ok(!entries.some((e) => e.startsWith('.git')));
    });

    test('filters by glob: name-only globs match at any depth, path globs are relative to path', async () => {
      const byName = await executeTool('list_files', { glob: '*.test.ts' }, { root });
      assert.equal(byName.output, 'src/lib/util.test.ts');
      const byPath = await executeTool('list_files', { path: 'src', glob: 'lib/*.ts' }, { root });
      assert.equal(byPath.output, 'src/lib/util.test.ts\nsrc/lib/util.ts');
      const none = await executeTool('list_files', { glob: '*.py' }, { root });
      assert.equal(none.isError, false);
      assert.match(none.output, /No files match/);
    });

    test('truncates long listings with a note', async () => {
      const many = path.join(root, 'many');
      await mkdir(many);
      await Promise.all(Array.from({ length: MAX_LIST_ENTRIES + 10 }, (_, i) => writeFile(path.join(many, `f${i}.txt`), '')));
      try {
        const result = await executeTool('list_files', { path: 'many' }, { root });
        const lines = result.output.split('\n');
        assert.equal(lines.length, MAX_LIST_ENTRIES + 1);
        assert.match(lines.at(-1)!, /truncated: showing 2000 files/);
      } finally {
        await rm(many, { recursive: true });
      }
    });
  });

  describe('search', () => {
    test('finds matches as path:line:text', async () => {
      const result = await executeTool('search', { pattern: 'fetch\\(' }, { root });
      assert.equal(result.isError, false);
      assert.equal(result.output, 'src/app.ts:2:  return fetch("/api");');
    });

    test('restricts by path and glob, and reports no matches', async () => {
      const inSrc = await executeTool('search', { pattern: 'fetch', path: 'src' }, { root });
      assert.doesNotMatch(inSrc.output, /README/);
      assert.match(inSrc.output, /src\/app\.ts/);
      const byGlob = await executeTool('search', { pattern: 'export', glob: '*.test.ts' }, { root });
      assert.equal(byGlob.output, 'No matches.');
      const byGlob2 = await executeTool('search', { pattern: 'add', path: 'src', glob: 'lib/*.ts' }, { root });
      assert.match(byGlob2.output, /^src\/lib\/util\.ts:1:/m);
      assert.match(byGlob2.output, /^src\/lib\/util\.test\.ts:1:/m);
    });

    test('finds untracked files but skips binaries', async () => {
      await writeFile(path.join(root, 'notes.txt'), 'fetch later\n');
      const result = await executeTool('search', { pattern: 'fetch|def' }, { root });
      assert.match(result.output, /^notes\.txt:1:fetch later$/m);
      assert.doesNotMatch(result.output, /blob\.dat/);
    });

    test('a pattern starting with - is a pattern, not an option', async () => {
      const result = await executeTool('search', { pattern: '--help' }, { root });
      assert.equal(result.isError, false);
      assert.equal(result.output, 'No matches.');
    });

    test('an invalid regex is a tool error', async () => {
      const result = await executeTool('search', { pattern: 'fetch(' }, { root });
      assert.equal(result.isError, true);
      assert.match(result.output, /search failed/);
    });
  });

  test('unknown tools and non-object input are tool errors', async () => {
    assert.deepEqual(await executeTool('rm_rf', {}, { root }), {
      output: 'unknown tool "rm_rf"; available tools: list_files, read_file, search',
      isError: true,
    });
    const result = await executeTool('read_file', 'README.md', { root });
    assert.equal(result.isError, true);
  });
});

test('each tool is one file whose schema and argument checks are one definition: every argument the schema names is checked by its name', async () => {
  const { WRITE_TOOLS } = await import('../src/agents/tools.ts');
  const files = ['list-files', 'read-file', 'search', 'edit-file', 'write-file', 'run-command'];
  const modules = await Promise.all(files.map((file) => import(`../src/agents/tools/${file}.ts`)));
  const defined = modules.flatMap((module) => Object.values(module).filter((value): value is { definition: unknown } => typeof value === 'object' && value !== null && 'definition' in value));
  assert.deepEqual(defined.map((tool) => tool.definition), [...READ_TOOLS, ...WRITE_TOOLS]);
  const wrongValue = { string: 7, integer: 'seven', boolean: 'yes' } as const;
  const fix = { string: 'must be a string', integer: 'must be a positive integer', boolean: 'must be true or false' } as const;
  const root = await mkdtemp(path.join(tmpdir(), 'foreman-tool-args-'));
  try {
    for (const tool of [...READ_TOOLS, ...WRITE_TOOLS]) {
      const schema = tool.input_schema as { properties: Record<string, { type: keyof typeof wrongValue }>; required?: string[] };
      const valid = Object.fromEntries((schema.required ?? []).map((name) => [name, 'x']));
      for (const [name, { type }] of Object.entries(schema.properties)) {
        const result = await executeTool(tool.name, { ...valid, [name]: wrongValue[type] }, { root, write: true });
        assert.deepEqual(result, { output: `"${name}" ${fix[type]}`, isError: true }, `${tool.name}.${name}`);
      }
      for (const name of schema.required ?? []) {
        const result = await executeTool(tool.name, { ...valid, [name]: undefined }, { root, write: true });
        assert.deepEqual(result, { output: `"${name}" is required`, isError: true }, `${tool.name}.${name}`);
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
