// The committed bundle in dist/ is what `npm run build` makes from the sources as they are: a
// change to src/ without a rebuild fails here, before users get a stale Action.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { buildAction } from '../scripts/build-action.ts';
import { tempDir } from './support/repo.ts';
import { ACTION_INPUT_NAMES } from '../src/config/action-inputs.ts';

const DIST = fileURLToPath(new URL('../dist', import.meta.url));

function files(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(root, path) : [relative(root, path)];
  });
}

test('dist/ is what npm run build makes: run it and commit dist/ when this fails', async () => {
  const fresh = join(tempDir('foreman-dist-'), 'dist');
  await buildAction(fresh);
  const built = files(fresh).sort();
  assert.deepEqual(files(DIST).sort(), built, 'the same files: run `npm run build` and commit dist/');
  for (const file of built) {
    assert.ok(readFileSync(join(DIST, file)).equals(readFileSync(join(fresh, file))), `dist/${file} is stale: run \`npm run build\` and commit dist/`);
  }
});

test('action.yml parses, runs the bundle on node24, and declares exactly the inputs and outputs the code uses', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const action = parseYaml(readFileSync(join(root, 'action.yml'), 'utf8'));
  assert.deepEqual(action.runs, { using: 'node24', main: 'dist/index.js' });
  const code = ['src/action/inputs.ts', 'src/action/main.ts'].map((file) => readFileSync(join(root, file), 'utf8')).join('\n');
  // The inputs the code reads: its schema's (src/config/action-inputs.ts), and any read directly.
  const read = new Set([...ACTION_INPUT_NAMES, ...[...code.matchAll(/core\.getInput\('([^']+)'\)/g)].map((m) => m[1])]);
  const written = new Set([...code.matchAll(/core\.setOutput\('([^']+)'/g)].map((m) => m[1]));
  assert.deepEqual(Object.keys(action.inputs).sort(), [...read].sort());
  assert.deepEqual(Object.keys(action.outputs).sort(), [...written].sort());
  for (const [name, input] of Object.entries(action.inputs) as Array<[string, { description?: string }]>) assert.ok(input.description, `input ${name} is described`);
});

test('the example workflows parse, ask for their permissions, and give the Action its key', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = join(root, 'examples/workflows');
  const action = parseYaml(readFileSync(join(root, 'action.yml'), 'utf8'));
  const examples = readdirSync(dir);
  assert.deepEqual(examples.sort(), ['foreman-comments.yml', 'foreman-label-audit.yml', 'foreman-release-sweep.yml']);
  for (const file of examples) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const line of text.split('\n').filter((l) => l.includes('uses: your-org/foreman@'))) assert.match(line, /# replace: /, `${file} says to replace the placeholder`);
    const workflow = parseYaml(text);
    // `/workflow stop` cancels the run's workflow run through the Actions API.
    if (workflow.on.issue_comment) assert.equal(workflow.permissions.actions, 'write', `${file}: /workflow stop needs actions: write`);
    assert.ok(workflow.permissions && !('write-all' === workflow.permissions), `${file} sets least permissions`);
    assert.equal(workflow.permissions.contents, 'write', `${file}: fix branches are pushed`);
    const steps = Object.values(workflow.jobs as Record<string, { steps?: Array<{ uses?: string; with?: Record<string, unknown> }> }>).flatMap((job) => job.steps ?? []);
    const foreman = steps.find((step) => step.uses?.includes('/foreman@'));
    assert.ok(foreman, `${file} uses the Action`);
    assert.equal(foreman.with?.['anthropic-api-key'], '${{ secrets.ANTHROPIC_API_KEY }}');
    for (const input of Object.keys(foreman.with ?? {})) assert.ok(input in action.inputs, `${file}: ${input} is an input of action.yml`);
    // A persisted token sits in .git/config, which every worktree and the code Foreman runs can read.
    for (const checkout of steps.filter((step) => step.uses?.startsWith('actions/checkout@'))) {
      assert.equal(checkout.with?.['persist-credentials'], false, `${file}: actions/checkout with persist-credentials: false`);
    }
  }
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const block of readme.match(/- uses: actions\/checkout@[^\n]*\n(?: {8}.*\n)*/g) ?? []) {
    assert.match(block, /persist-credentials: false/, `README's checkout step keeps the token out of .git/config:\n${block}`);
  }
});
