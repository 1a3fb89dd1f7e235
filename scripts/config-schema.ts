// `npm run config-schema`: writes docs/config.schema.json from the zod schema.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA_FILE, configJsonSchemaText } from '../src/config/json-schema.ts';

writeFileSync(fileURLToPath(new URL(`../${CONFIG_SCHEMA_FILE}`, import.meta.url)), configJsonSchemaText());
console.log(`wrote ${CONFIG_SCHEMA_FILE}`);
