// The one schema for `.github/foreman.yml`. Later front doors derive the JSON Schema from it.
import { z } from 'zod';

const price = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cacheRead: z.number().nonnegative(),
  cacheWrite: z.number().nonnegative(),
});

export const configSchema = z.strictObject({
  models: z
    .strictObject({
      default: z.string().min(1).optional().describe('Model id or alias used when a script names none'),
      aliases: z.record(z.string(), z.string().min(1)).optional().describe('Alias → model id, merged over the built-in haiku/sonnet/opus'),
      prices: z.record(z.string(), price).optional().describe('Model id → USD per million tokens, merged over the built-in table'),
    })
    .optional(),
  limits: z
    .strictObject({
      concurrency: z.int().min(1).max(256).optional().describe('Agents at once (default 16)'),
      agentsPerRun: z.int().min(1).max(100_000).optional().describe('Agents one run may start (default 1000)'),
      maxTurns: z.int().min(1).max(1000).optional().describe('Model turns one agent may take (default 50)'),
      budgetTokens: z.int().min(1).optional().describe('Token ceiling per run'),
      maxCostUsd: z.number().positive().optional().describe('USD ceiling per run'),
      memoryMb: z.int().min(16).max(4096).optional().describe('Sandbox memory limit (default 128)'),
      cpuMs: z.int().min(100).optional().describe('Script CPU time limit in ms (default 10000)'),
      wallMs: z.int().min(1000).optional().describe('Run wall-clock limit in ms (default 3600000)'),
    })
    .optional(),
});

export type ForemanConfig = z.infer<typeof configSchema>;
