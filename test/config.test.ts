// `.github/foreman.yml` errors name the key and the fix; the CLI's exit code for them is covered in
// cli-errors.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { ConfigError, CONFIG_PATH, loadConfig, parseConfig } from '../src/config/load.ts';
import { tempDir, writeFiles } from './support/repo.ts';

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

test('an unknown key is named, with the fix', () => {
  assert.equal(configError('limits:\n  concurency: 4\n'), '.github/foreman.yml: limits: unknown key concurency: fix or remove that key (see docs/config.md)');
  assert.match(configError('gate:\n  test: npm test\n  tests: npm test\n'), /^\.github\/foreman\.yml: gate: unknown key tests: fix or remove that key/);
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
