// The JSON Schema of `.github/foreman.yml`, derived from the one zod schema so the two cannot
// drift: docs/config.schema.json is this, written by `npm run config-schema` and checked by a test.
import { z } from 'zod';
import { configSchema } from './schema.ts';

export const CONFIG_SCHEMA_FILE = 'docs/config.schema.json';

export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { target: 'draft-2020-12' }),
    title: 'Foreman repository config (.github/foreman.yml)',
  };
}

export const configJsonSchemaText = (): string => `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
