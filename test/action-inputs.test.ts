// The Action's inputs have one schema (src/config/action-inputs.ts): it and action.yml name the
// same inputs with the same defaults, and it words each refusal with the input and its fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ACTION_INPUT_NAMES, ActionInputError, actionInputsSchema, parseActionInputs, type ActionInputName } from '../src/config/action-inputs.ts';

const actionYml = parseYaml(readFileSync(new URL('../action.yml', import.meta.url), 'utf8')) as { inputs: Record<string, { default?: string; required?: boolean }> };

test('action.yml and the schema name the same inputs, with the same defaults', () => {
  assert.deepEqual([...ACTION_INPUT_NAMES].sort(), Object.keys(actionYml.inputs).sort());
  for (const name of ACTION_INPUT_NAMES) {
    const declared = actionYml.inputs[name]!.default;
    // GitHub fills github-token from the workflow's own token; an expression, not a value.
    if (name === 'github-token') {
      assert.equal(declared, '${{ github.token }}');
      continue;
    }
    const schemaDefault = (actionInputsSchema.shape[name].meta() as { default?: string } | undefined)?.default;
    assert.equal(schemaDefault, declared, `${name}: action.yml says default ${declared}, the schema ${schemaDefault}`);
  }
});

const given = (inputs: Partial<Record<ActionInputName, string>>) => (name: ActionInputName) => inputs[name] ?? '';
const credentials = { 'anthropic-api-key': 'sk-test', 'github-token': 'ghs_test' };

test('inputs not given take the schema defaults', () => {
  const inputs = parseActionInputs(given(credentials));
  assert.deepEqual(inputs, {
    workflow: '', args: '', anthropicApiKey: 'sk-test', githubToken: 'ghs_test', config: '.github/foreman.yml', base: '', model: undefined,
    budgetTokens: undefined, maxCostUsd: undefined, concurrency: undefined, propose: 'pr', checkRuns: true, sarif: false,
  });
  const set = parseActionInputs(given({ ...credentials, propose: 'none', 'check-runs': 'FALSE', sarif: 'true', 'budget-tokens': '5000', 'max-cost-usd': '0.5', model: 'opus' }));
  assert.equal(set.propose, 'none');
  assert.equal(set.checkRuns, false);
  assert.equal(set.sarif, true);
  assert.equal(set.budgetTokens, 5000);
  assert.equal(set.maxCostUsd, 0.5);
  assert.equal(set.model, 'opus');
});

test('a bad input is refused with its name and what it takes, the credentials first', () => {
  const refusal = (inputs: Partial<Record<ActionInputName, string>>) => {
    try {
      parseActionInputs(given(inputs));
    } catch (error) {
      assert.ok(error instanceof ActionInputError);
      return error.message;
    }
    assert.fail('accepted');
  };
  assert.match(refusal({ propose: 'maybe' }), /^anthropic-api-key is empty: pass `anthropic-api-key: \$\{\{ secrets.ANTHROPIC_API_KEY \}\}`/);
  assert.match(refusal({ 'anthropic-api-key': 'k' }), /^github-token is empty: leave it out to use `github.token`/);
  assert.equal(refusal({ ...credentials, propose: 'maybe', concurrency: 'x' }), 'propose must be pr, branch or none, not maybe');
  assert.equal(refusal({ ...credentials, concurrency: '1.5' }), 'concurrency must be a whole number above 0, not 1.5');
  assert.equal(refusal({ ...credentials, 'max-cost-usd': '-1' }), 'max-cost-usd must be a number above 0, not -1');
  assert.equal(refusal({ ...credentials, sarif: 'yes' }), 'sarif must be true or false, not yes');
});
