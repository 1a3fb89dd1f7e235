// Reads `.github/foreman.yml` from a checkout. An invalid file is an error that names the key and
// the fix, never a silent default.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, type ForemanConfig } from './schema.ts';
import { DEFAULT_MODELS, type ModelTable } from '../runtime/pricing.ts';

export const CONFIG_PATH = '.github/foreman.yml';

export class ConfigError extends Error {}

export async function loadConfig(repoDir: string): Promise<ForemanConfig> {
  const file = join(repoDir, CONFIG_PATH);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  return parseConfig(text, CONFIG_PATH);
}

export function parseConfig(text: string, source: string): ForemanConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(`${source} is not valid YAML: ${(error as Error).message.split('\n')[0]}: fix the YAML syntax`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    const detail = issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}` : issue.message;
    throw new ConfigError(`${source}: ${key}: ${detail}: fix or remove that key (see docs/config.md)`);
  }
  return parsed.data;
}

export function modelTable(config: ForemanConfig): ModelTable {
  const aliases = { ...DEFAULT_MODELS.aliases, ...config.models?.aliases };
  const prices = { ...DEFAULT_MODELS.prices, ...config.models?.prices };
  const named = config.models?.default;
  return { aliases, prices, defaultModel: named ? (aliases[named] ?? named) : DEFAULT_MODELS.defaultModel };
}
