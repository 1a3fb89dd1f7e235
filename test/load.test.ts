import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError, listWorkflows, resolveWorkflow, workflowDirs } from '../src/workflows/load.ts';
import type { WorkflowDirs } from '../src/workflows/load.ts';

const script = (name: string, description: string, whenToUse?: string) =>
  `export const meta = { name: '${name}', description: '${description}'${whenToUse ? `, whenToUse: '${whenToUse}'` : ''} }\nreturn '${description}'\n`;

/** The CLI's own command line: the one place a file path may name a workflow. */
const TYPED = { typedPath: true };

async function withDirs(run: (dirs: WorkflowDirs, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'foreman-load-'));
  try {
    await run(workflowDirs(path.join(root, 'repo'), path.join(root, 'home'), path.join(root, 'builtin')), root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function put(dir: string, fileName: string, content: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, fileName);
  await writeFile(file, content);
  return file;
}

test('workflowDirs points at .claude/workflows in the repository and the home directory', () => {
  assert.deepEqual(workflowDirs('/r', '/h', '/b'), {
    repoDir: path.join('/r', '.claude', 'workflows'),
    userDir: path.join('/h', '.claude', 'workflows'),
    builtinDir: '/b',
  });
});

test('a name resolves from the repository before the user directory before the built-ins', () =>
  withDirs(async (dirs) => {
    await put(dirs.builtinDir, 'audit.js', script('audit', 'builtin'));
    assert.equal((await resolveWorkflow('audit', dirs))?.origin, 'builtin');

    await put(dirs.userDir, 'audit.js', script('audit', 'user'));
    assert.equal((await resolveWorkflow('audit', dirs))?.origin, 'user');

    const repoFile = await put(dirs.repoDir, 'audit.js', script('audit', 'repo'));
    assert.deepEqual(await resolveWorkflow('audit', dirs), {
      name: 'audit',
      file: repoFile,
      source: script('audit', 'repo'),
      origin: 'repo',
    });
  }));

test('a name that matches nothing, or text that is not a name, resolves to null', () =>
  withDirs(async (dirs) => {
    await put(dirs.builtinDir, 'audit.js', script('audit', 'builtin'));
    assert.equal(await resolveWorkflow('security-sweep_2.x', dirs), null);
    assert.equal(await resolveWorkflow('find the auth bugs', dirs), null);
    assert.equal(await resolveWorkflow('-audit', dirs), null);
    assert.equal(await resolveWorkflow('', dirs), null);
  }));

test('missing directories are fine', () =>
  withDirs(async (dirs) => {
    assert.equal(await resolveWorkflow('audit', dirs), null);
    assert.deepEqual(await listWorkflows(dirs), []);
  }));

test('a ref ending in .js or containing a separator is a path, resolved against the cwd', () =>
  withDirs(async (dirs, root) => {
    const file = await put(path.join(root, 'scripts'), 'mine.js', script('mine', 'by path'));
    // the same name in the repo directory must not win over an explicit path
    await put(dirs.repoDir, 'mine.js', script('mine', 'repo'));
    assert.deepEqual(await resolveWorkflow(file, dirs, TYPED), { name: 'mine', file, source: script('mine', 'by path'), origin: 'path' });

    const relative = path.relative(process.cwd(), file);
    assert.equal((await resolveWorkflow(relative, dirs, TYPED))?.origin, 'path');

    const noExtension = await put(path.join(root, 'scripts'), 'plain', script('plain', 'no extension'));
    assert.equal((await resolveWorkflow(noExtension, dirs, TYPED))?.name, 'plain');
  }));

test('a missing path throws WorkflowNotFoundError naming the path and the available workflows', () =>
  withDirs(async (dirs, root) => {
    await put(dirs.repoDir, 'triage.js', script('triage', 'repo'));
    await put(dirs.builtinDir, 'audit.js', script('audit', 'builtin'));
    const missing = path.join(root, 'nope.js');
    await assert.rejects(resolveWorkflow(missing, dirs, TYPED), (error: unknown) => {
      assert.ok(error instanceof WorkflowNotFoundError);
      assert.equal(error.ref, missing);
      assert.deepEqual(error.available, ['audit', 'triage']);
      assert.ok(error.message.includes(missing), error.message);
      assert.match(error.message, /audit, triage/);
      assert.doesNotMatch(error.message, /foreman list|\/workflow list/, 'each front door adds its own way to list them');
      return true;
    });
    // a bare file name with .js is a path too, even when a saved workflow has that name
    await assert.rejects(resolveWorkflow('triage.js', dirs, TYPED), WorkflowNotFoundError);
    // a directory is not a script
    await assert.rejects(resolveWorkflow(root + path.sep, dirs, TYPED), WorkflowNotFoundError);
  }));

test('WorkflowNotFoundError says where to save a workflow when there are none', () => {
  const error = new WorkflowNotFoundError('audit', []);
  assert.equal(error.name, 'WorkflowNotFoundError');
  assert.match(error.message, /"audit"/);
  assert.match(error.message, /no saved workflows/);
  assert.match(error.message, /\.claude\/workflows\/<name>\.js/);
});

test('listWorkflows lists each name once from the winning directory, sorted, with meta or the error', () =>
  withDirs(async (dirs) => {
    await put(dirs.builtinDir, 'audit.js', script('audit', 'builtin audit'));
    await put(dirs.builtinDir, 'review-pr.js', script('review-pr', 'builtin review', 'args: PR number'));
    await put(dirs.builtinDir, 'notes.txt', 'not a script');
    await mkdir(path.join(dirs.builtinDir, 'folder.js'));
    await put(dirs.userDir, 'audit.js', script('audit', 'user audit'));
    await put(dirs.userDir, 'zeta.js', script('zeta', 'user zeta'));
    const broken = await put(dirs.repoDir, 'broken.js', "import fs from 'node:fs'\n");
    await put(dirs.repoDir, 'my flow.js', script('my flow', 'spaces'));

    const listed = await listWorkflows(dirs);
    assert.deepEqual(
      listed.map(({ name, origin }) => `${name}:${origin}`),
      ['audit:user', 'broken:repo', 'my flow:repo', 'review-pr:builtin', 'zeta:user'],
    );

    const byName = new Map(listed.map((entry) => [entry.name, entry]));
    assert.deepEqual(byName.get('audit'), {
      name: 'audit',
      origin: 'user',
      file: path.join(dirs.userDir, 'audit.js'),
      description: 'user audit',
    });
    assert.equal(byName.get('review-pr')?.whenToUse, 'args: PR number');

    const brokenEntry = byName.get('broken');
    assert.equal(brokenEntry?.description, undefined);
    assert.equal(brokenEntry?.file, broken);
    assert.match(brokenEntry?.error ?? '', new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:1: `));
    assert.match(brokenEntry?.error ?? '', /must be `export const meta/);

    assert.match(byName.get('my flow')?.error ?? '', /cannot be run by name/);
  }));
