// `.github/foreman.yml` errors name the key and the fix; the CLI's exit code for them is covered in
// cli-errors.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { ConfigError, CONFIG_PATH, loadConfig, parseConfig } from '../src/config/load.ts';
import { makeRepo, tempDir, writeFiles } from './support/repo.ts';
import { runCli } from './support/cli.ts';

function configError(text: string): string {
  try {
    parseConfig(text, CONFIG_PATH);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail(`expected a ConfigError for:\n${text}`);
}

test('a missing required key says to add it, with the example from the schema', () => {
  const message = configError('gate:\n  build: npm run build\n');
  assert.match(message, /^\.github\/foreman\.yml: gate\.test: /);
  assert.match(message, /add gate\.test, e\.g\. `test: npm test`/);
  assert.doesNotMatch(message, /remove/);
});

test('a required key with no value says to give it one, not to remove it', () => {
  const message = configError('gate:\n  test:\n');
  assert.match(message, /gate\.test: .*give gate\.test a value, e\.g\. `test: npm test`/);
  assert.doesNotMatch(message, /remove/);
});

test('an agents.commands pattern that does not parse is refused, naming its index, the problem and the fix', () => {
  const message = configError('agents:\n  commands: ["npm test | tee x"]\n');
  assert.match(message, /^\.github\/foreman\.yml: agents\.commands\[0\]: /);
  assert.match(message, /'\|' is a shell operator/);
  assert.match(message, /put the steps in a script/);
  assert.match(message, /fix or remove agents\.commands\[0\]/);

  const later = configError('agents:\n  commands:\n    - npm test\n    - npx eslint ** --fix\n');
  assert.match(later, /agents\.commands\[1\]: .*'\*\*' \(any remaining arguments\) may only be the last word/);
  assert.match(later, /fix or remove agents\.commands\[1\]/);

  assert.match(configError('agents:\n  commands: ["npx eslint src/*.ts"]\n'), /agents\.commands\[0\]: .*src\/\*\.ts is a glob/);
});

test('valid agents.commands patterns load as written', () => {
  const config = parseConfig("agents:\n  commands:\n    - npm test\n    - npx eslint **\n    - node --test *\n    - '**'\n", CONFIG_PATH);
  assert.deepEqual(config.agents?.commands, ['npm test', 'npx eslint **', 'node --test *', '**']);
});

test('an unknown key is named by its path, with the key it most likely meant', () => {
  assert.equal(
    configError('limits:\n  concurency: 4\n'),
    '.github/foreman.yml: limits.concurency: unknown key "concurency" — did you mean "concurrency"? Rename it to limits.concurrency (see docs/config.md)',
  );
  assert.match(configError('lables:\n  security-review: audit\n'), /^\.github\/foreman\.yml: lables: unknown key "lables" — did you mean "labels"\? Rename it to labels /);
  assert.match(configError('aprroval: always\n'), /^\.github\/foreman\.yml: aprroval: unknown key "aprroval" — did you mean "approval"\?/);
  assert.match(configError("schedules:\n  - cron: '@daily'\n    workflow: audit\n    timzone: UTC\n"), /^\.github\/foreman\.yml: schedules\[0\]\.timzone: unknown key "timzone" — did you mean "timezone"\?/);
  // Inside a union: a label starts a workflow by name or by { workflow, args }.
  assert.match(configError('labels:\n  review:\n    workflw: audit\n'), /^\.github\/foreman\.yml: labels\.review\.workflw: unknown key "workflw" — did you mean "workflow"\?/);
});

test('a typo of a required key is reported as the typo, not as the key it left missing', () => {
  assert.equal(
    configError('gate:\n  tset: npm test\n'),
    '.github/foreman.yml: gate.tset: unknown key "tset" — did you mean "test"? Rename it to gate.test (see docs/config.md)',
  );
});

test('an unknown key like no known one lists the keys its mapping takes; one beside the key it resembles is to be removed', () => {
  assert.equal(
    configError('gate:\n  test: npm test\n  verbose: true\n'),
    '.github/foreman.yml: gate.verbose: unknown key "verbose": gate takes setup, build, test, timeoutMs, concurrency; fix or remove it (see docs/config.md)',
  );
  assert.match(configError('gate:\n  test: npm test\n  tests: npm test\n'), /^\.github\/foreman\.yml: gate\.tests: unknown key "tests", next to gate\.test: remove it/);
  assert.match(configError('wat: 1\n'), /^\.github\/foreman\.yml: wat: unknown key "wat": the top level takes models, limits, agents, gate,/);
});

test('unknown keys are hostile input: control characters are escaped, long keys cut, many keys counted', () => {
  const message = configError(`"bad\\nkey\\u001b[31m": 1\n${'k'.repeat(500)}: 1\n${Array.from({ length: 8 }, (_, i) => `extra${i}: 1`).join('\n')}\n`);
  assert.doesNotMatch(message, /[\n\u001b]/);
  assert.match(message, /^\.github\/foreman\.yml: unknown keys \["bad\\nkey\\u001b\[31m"\], \["k{60}…"\], extra0, extra1, extra2: the top level takes models, .*; fix or remove them;/);
  assert.doesNotMatch(message, /k{61}/);
  assert.match(message, /and 5 more unknown keys in the top level/);
});

test('a key that is there but wrong still says to fix or remove it', () => {
  assert.match(configError('limits:\n  concurrency: 0\n'), /^\.github\/foreman\.yml: limits\.concurrency: .*>=1: fix or remove that key \(see docs\/config\.md\)$/);
  assert.match(configError('changes: maybe\n'), /^\.github\/foreman\.yml: changes: .*"propose"\|"report": fix or remove that key/);
  assert.match(configError('agents:\n  commands: [""]\n'), /^\.github\/foreman\.yml: agents\.commands\[0\]: .*fix or remove that key/);
});

test('loadConfig reads the file from the repository and reports its path; no file is an empty config', async () => {
  const repo = tempDir();
  try {
    assert.deepEqual(await loadConfig(repo), {});
    writeFiles(repo, { [CONFIG_PATH]: 'agents:\n  commands: ["echo $HOME"]\n' });
    await assert.rejects(loadConfig(repo), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^\.github\/foreman\.yml: agents\.commands\[0\]: .*\$HOME is a variable/);
      return true;
    });
    writeFiles(repo, { [CONFIG_PATH]: 'changes: report\nagents:\n  commands: [npm test]\n  commandTimeoutMs: 60000\n' });
    assert.deepEqual(await loadConfig(repo), { changes: 'report', agents: { commands: ['npm test'], commandTimeoutMs: 60000 } });
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
});

test('schedules: a cron expression that does not parse, has a seconds field, or a time zone that is none name the key and the fix', () => {
  assert.match(configError("schedules:\n  - cron: '61 3 * * 1'\n    workflow: audit\n"), /^\.github\/foreman\.yml: schedules\[0\]\.cron: .*minute.*: give a cron expression of five fields .* e\.g\. '0 3 \* \* 1'/);
  assert.match(configError("schedules:\n  - cron: '* * * * * *'\n    workflow: audit\n"), /schedules\[0\]\.cron: 6 fields: give a cron expression of five fields/);
  assert.match(configError("schedules:\n  - cron: '0 3 * * 1'\n    workflow: audit\n    timezone: Mars/Base\n"), /schedules\[0\]\.timezone: Mars\/Base is not an IANA time zone: use one such as Europe\/Berlin/);
  assert.match(configError("schedules:\n  - cron: '0 3 * * 1'\n"), /schedules\[0\]\.workflow: required key missing: add schedules\[0\]\.workflow, e\.g\. `workflow: security-sweep`/);
  const ok = parseConfig("schedules:\n  - cron: '@daily'\n    workflow: audit\n    branches: ['release/*']\n", CONFIG_PATH);
  assert.deepEqual(ok.schedules, [{ cron: '@daily', workflow: 'audit', branches: ['release/*'] }]);
});

test('foreman run refuses a config with a mistyped key, naming its path and the key it meant', async () => {
  const repo = makeRepo({
    '.claude/workflows/x.js': "export const meta = { name: 'x', description: 'd' }\nreturn 1\n",
    [CONFIG_PATH]: 'gate:\n  tset: npm test\n',
  });
  const res = await runCli(['run', 'x', '--repo', repo], { home: tempDir(), baseURL: 'http://127.0.0.1:9' });
  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /^foreman: \.github\/foreman\.yml: gate\.tset: unknown key "tset" — did you mean "test"\? Rename it to gate\.test \(see docs\/config\.md\)$/m);
  assert.doesNotMatch(res.stderr, /^run \d/m, 'no run was created');
});
