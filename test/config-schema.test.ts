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

test('each default is written once, in the zod schema: the JSON Schema shows it and the code that applies it reads it from there', async () => {
  const { CONFIG_DEFAULTS } = await import('../src/config/schema.ts');
  assert.deepEqual(CONFIG_DEFAULTS, {
    limits: { concurrency: 16, agentsPerRun: 1000, maxTurns: 200, memoryMb: 128, cpuMs: 10_000, wallMs: 14_400_000 },
    // The web's default is the door's: on for the CLI, off for the App and the Action (docs/security.md).
    agents: { commandTimeoutMs: 120_000, write: true, web: { byDoor: { cli: true, app: false, action: false }, maxUses: 5 } },
    gate: { timeoutMs: 600_000 },
    permissions: { trigger: 'write' },
    approval: 'generated',
    sarif: false,
    changes: 'propose',
  });
  const properties = (configJsonSchema() as { properties: Record<string, { default?: unknown; properties?: Record<string, { default?: unknown }> }> }).properties;
  assert.equal(properties.gate.properties!.timeoutMs.default, CONFIG_DEFAULTS.gate.timeoutMs);
  assert.equal(properties.limits.properties!.concurrency.default, CONFIG_DEFAULTS.limits.concurrency);
  assert.equal(properties.approval.default, CONFIG_DEFAULTS.approval);
  // The gate timeout was written three times (the schema's text, the gate, the service): each copy
  // now reads the schema, so a changed default cannot leave one behind.
  const { DEFAULT_GATE_STEP_TIMEOUT_MS } = await import('../src/workspace/gate.ts');
  const { DEFAULT_GATE_TIMEOUT_MS } = await import('../src/service/workspace.ts');
  const { DEFAULT_COMMAND_TIMEOUT_MS } = await import('../src/agents/tools.ts');
  const { DEFAULT_LIMITS } = await import('../src/service/runs.ts');
  const { DEFAULT_SANDBOX_LIMITS } = await import('../src/runtime/sandbox.ts');
  assert.equal(DEFAULT_GATE_STEP_TIMEOUT_MS, CONFIG_DEFAULTS.gate.timeoutMs);
  assert.equal(DEFAULT_GATE_TIMEOUT_MS, CONFIG_DEFAULTS.gate.timeoutMs);
  assert.equal(DEFAULT_COMMAND_TIMEOUT_MS, CONFIG_DEFAULTS.agents.commandTimeoutMs);
  assert.deepEqual(DEFAULT_LIMITS, {
    concurrency: 16, maxAgents: 1000, maxTurns: 200, memoryLimitMb: 128, cpuLimitMs: 10_000, wallLimitMs: 14_400_000,
  });
  // The runtime keeps fallbacks for callers of its own API; they must agree with the config's.
  assert.deepEqual(DEFAULT_SANDBOX_LIMITS, { memoryLimitMb: 128, cpuLimitMs: 10_000, wallLimitMs: 14_400_000 });
});
