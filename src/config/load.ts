// Reads `.github/foreman.yml` from a checkout. An invalid file is an error that names the key and
// the fix, never a silent default.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type ForemanConfig } from './schema.ts';
import { DEFAULT_MODELS, type ModelTable } from '../runtime/pricing.ts';
// The agents.commands patterns are checked with the parser the matcher itself uses, so that what
// loads is exactly what isCommandAllowed can match; a second parser here could drift from it.
// Checked here after zod rather than in schema.ts: schema.ts is the plain description of the file
// and imports nothing but zod.
import { CommandSyntaxError, parseCommandPattern } from './command-line.ts';
import { Cron } from 'croner';
import { nearestName, quoteName } from '../text/did-you-mean.ts';

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
    throw new ConfigError(`${source} is not valid YAML: ${(error as Error).message.split('\n')[0]!.replace(/:\s*$/, '')}: fix the YAML syntax`);
  }
  return validateConfig(raw, source);
}

/** Checks an already parsed config (the GitHub App reads YAML through Probot's config plugin). */
export function validateConfig(raw: unknown, source: string): ForemanConfig {
  // reportInput: tells a missing key (input undefined) from one that is there but wrong.
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    // A typo usually causes a second issue as well (`gate: { tset: … }` leaves gate.test missing),
    // and the typo is the one whose fix resolves both.
    const unknown = findUnknownKeys(parsed.error.issues, []);
    throw new ConfigError(`${source}: ${unknown ? describeUnknownKeys(unknown) : describeIssue(parsed.error.issues[0])}`);
  }
  checkCommandPatterns(parsed.data, source);
  checkSchedules(parsed.data, source);
  return parsed.data;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  // `agents.web: { maxUses: 0 }` fails both branches of `boolean | {…}`: the mapping's own error says what is wrong.
  if (issue.code === 'invalid_union' && typeof issue.input === 'object' && issue.input !== null) {
    const inner = issue.errors.find((branch) => branch.length > 0 && branch[0].path.length > 0)?.[0];
    if (inner) return describeIssue({ ...inner, path: [...issue.path, ...inner.path] });
  }
  const key = issue.path.length > 0 ? keyName(issue.path) : '(top level)';
  if (issue.code === 'invalid_type' && (issue.input === undefined || issue.input === null)) {
    const field = schemaAt(issue.path);
    if (field && !(field instanceof z.ZodOptional)) {
      const example = exampleOf(field, issue.path);
      const eg = example ? `, e.g. \`${example}\`` : '';
      if (issue.input === undefined) return `${key}: required key missing: add ${key}${eg} (see docs/config.md)`;
      return `${key}: required key has no value: give ${key} a value${eg} (see docs/config.md)`;
    }
  }
  if (issue.code === 'invalid_type' && issue.path.length === 0) {
    return `${issue.message}: the file must be a mapping of keys such as \`limits:\` and \`gate:\` (see docs/config.md)`;
  }
  return `${key}: ${issue.message}: fix or remove that key (see docs/config.md)`;
}

/** The first unknown-key issue, also inside the branches of a union (a label's workflow or its { workflow, args }). */
interface UnknownKeys {
  /** the mapping that has them */
  path: PropertyKey[];
  keys: string[];
  /** the mapping's value, as read */
  input: unknown;
}

function findUnknownKeys(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): UnknownKeys | null {
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') return { path: [...prefix, ...issue.path], keys: issue.keys, input: issue.input };
    if (issue.code === 'invalid_union') {
      for (const branch of issue.errors) {
        const found = findUnknownKeys(branch, [...prefix, ...issue.path]);
        if (found) return found;
      }
    }
  }
  return null;
}

/** Keys YAML lets anyone write, so only a few are named, each shortened, each with the key it most likely meant. */
const MAX_NAMED_KEYS = 5;

function describeUnknownKeys({ path, keys, input }: UnknownKeys): string {
  const known = knownKeysAt(path);
  const parent = path.length > 0 ? keyName(path) : 'the top level';
  const present = (key: string) => typeof input === 'object' && input !== null && Object.hasOwn(input, key);
  const clauses: string[] = [];
  const unmatched: string[] = [];
  for (const key of keys.slice(0, MAX_NAMED_KEYS)) {
    const at = keyName([...path, key]);
    const meant = nearestName(key, known);
    if (meant && present(meant)) clauses.push(`${at}: unknown key ${quoteName(key)}, next to ${keyName([...path, meant])}: remove it`);
    else if (meant) clauses.push(`${at}: unknown key ${quoteName(key)} — did you mean ${quoteName(meant)}? Rename it to ${keyName([...path, meant])}`);
    else unmatched.push(key);
  }
  if (unmatched.length === 1) {
    clauses.push(`${keyName([...path, unmatched[0]])}: unknown key ${quoteName(unmatched[0])}: ${parent} takes ${known.join(', ')}; fix or remove it`);
  } else if (unmatched.length > 1) {
    clauses.push(`unknown keys ${unmatched.map((key) => keyName([...path, key])).join(', ')}: ${parent} takes ${known.join(', ')}; fix or remove them`);
  }
  if (keys.length > MAX_NAMED_KEYS) clauses.push(`and ${keys.length - MAX_NAMED_KEYS} more unknown keys in ${parent}`);
  return `${clauses.join('; ')} (see docs/config.md)`;
}

/** The keys the mapping at `path` takes: the object schema there, or the object branch of a union. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let schema = schemaAt(path);
  while (schema instanceof z.ZodOptional) schema = schema.unwrap() as z.ZodType;
  if (schema instanceof z.ZodUnion) schema = (schema.options as z.ZodType[]).find((option) => option instanceof z.ZodObject) ?? null;
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** `agents.commands[0]`: array indexes as a YAML reader would look them up; a key that is no plain word is quoted. */
function keyName(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => {
      if (typeof part === 'number') return `[${part}]`;
      const name = String(part);
      return /^[\w-]{1,60}$/.test(name) ? `${i > 0 ? '.' : ''}${name}` : `[${quoteName(name)}]`;
    })
    .join('');
}

/** The schema of the key at `path`, as declared (still wrapped in optional), or null. */
function schemaAt(path: readonly PropertyKey[]): z.ZodType | null {
  let schema: z.ZodType = configSchema;
  for (const part of path) {
    while (schema instanceof z.ZodOptional) schema = schema.unwrap() as z.ZodType;
    if (schema instanceof z.ZodObject && typeof part === 'string' && part in schema.shape) schema = schema.shape[part] as z.ZodType;
    else if (schema instanceof z.ZodArray && typeof part === 'number') schema = schema.element as z.ZodType;
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else return null;
  }
  return schema;
}

/** `test: npm test` from a description such as "Runs the tests, e.g. 'npm test'". */
function exampleOf(field: z.ZodType, path: readonly PropertyKey[]): string | null {
  const value = /e\.g\. '([^']+)'/.exec(field.description ?? '')?.[1];
  const name = path[path.length - 1];
  return value !== undefined && typeof name === 'string' ? `${name}: ${value}` : null;
}

/**
 * A pattern that does not parse would load and then silently match nothing (isCommandAllowed
 * skips it), leaving the agents without a command the file seems to allow.
 */
function checkCommandPatterns(config: ForemanConfig, source: string): void {
  const patterns = config.agents?.commands ?? [];
  patterns.forEach((pattern, i) => {
    try {
      parseCommandPattern(pattern);
    } catch (error) {
      if (!(error instanceof CommandSyntaxError)) throw error;
      const key = keyName(['agents', 'commands', i]);
      throw new ConfigError(
        `${source}: ${key}: ${error.message}. A pattern is one program and its arguments, run without a shell; '*' stands for one argument ` +
          `and a final '**' for any remaining ones: fix or remove ${key} (see docs/config.md)`,
      );
    }
  });
}

/** A cron expression or time zone that does not parse would never fire, and nobody would notice. */
function checkSchedules(config: ForemanConfig, source: string): void {
  (config.schedules ?? []).forEach((schedule, i) => {
    if (schedule.timezone !== undefined) {
      try {
        new Intl.DateTimeFormat('en', { timeZone: schedule.timezone });
      } catch {
        const key = keyName(['schedules', i, 'timezone']);
        throw new ConfigError(`${source}: ${key}: ${schedule.timezone} is not an IANA time zone: use one such as Europe/Berlin or America/New_York, or remove ${key} for UTC (see docs/config.md)`);
      }
    }
    const key = keyName(['schedules', i, 'cron']);
    try {
      // croner also reads a leading seconds field: '* * * * * *' would start a run every second.
      const fields = schedule.cron.trim().split(/\s+/).length;
      if (!schedule.cron.trim().startsWith('@') && fields !== 5) throw new Error(`${fields} fields`);
      new Cron(schedule.cron, { paused: true, ...(schedule.timezone ? { timezone: schedule.timezone } : {}) });
    } catch (error) {
      throw new ConfigError(
        `${source}: ${key}: ${(error as Error).message}: give a cron expression of five fields (minute hour day-of-month month day-of-week), ` +
          `e.g. '0 3 * * 1' for Mondays at 03:00: fix ${key} (see docs/config.md)`,
      );
    }
  });
}

export function modelTable(config: ForemanConfig): ModelTable {
  const aliases = { ...DEFAULT_MODELS.aliases, ...config.models?.aliases };
  const prices = { ...DEFAULT_MODELS.prices, ...config.models?.prices };
  const named = config.models?.default;
  return {
    aliases,
    prices,
    defaultModel: named ? (aliases[named] ?? named) : DEFAULT_MODELS.defaultModel,
    webSearchUsdPer1000: config.models?.webSearchUsdPer1000 ?? DEFAULT_MODELS.webSearchUsdPer1000,
  };
}
