// docs/config.schema.json is the zod schema's JSON Schema, and agrees with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { CONFIG_SCHEMA_FILE, configJsonSchema, configJsonSchemaText } from '../src/config/json-schema.ts';
import { configSchema } from '../src/config/schema.ts';

test(`${CONFIG_SCHEMA_FILE} is up to date with the zod schema`, () => {
  const checkedIn = readFileSync(fileURLToPath(new URL(`../${CONFIG_SCHEMA_FILE}`, import.meta.url)), 'utf8');
  assert.ok(checkedIn === configJsonSchemaText(), `${CONFIG_SCHEMA_FILE} is stale: run \`npm run config-schema\` and commit it`);
});

test('the JSON Schema accepts and refuses what the zod schema does', () => {
  const validate = new Ajv2020({ strict: false }).compile(configJsonSchema());
  const cases: unknown[] = [
    {},
    { limits: { concurrency: 8, budgetTokens: 100000 }, gate: { test: 'npm test' }, changes: 'report' },
    { agents: { commands: ['npm test', 'npx eslint **'] }, permissions: { trigger: 'maintain' } },
    { models: { aliases: { fast: 'claude-haiku-4-5' }, prices: { m: { input: 1, output: 2, cacheRead: 0.1, cacheWrite: 1.25 } } } },
    { limits: { concurrency: 'lots' } },
    { gate: { build: 'npm run build' } },
    { permissions: { trigger: 'everyone' } },
    { unknownKey: true },
    { changes: 'merge' },
  ];
  assert.equal(validate(cases[1]), true);
  assert.equal(validate(cases[4]), false);
  for (const config of cases) {
    assert.equal(validate(config), configSchema.safeParse(config).success, JSON.stringify(config));
  }
});
