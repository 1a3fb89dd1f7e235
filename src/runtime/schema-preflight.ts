// A schema no answer can ever match, found when agent() is called (Claude Code checks it before the
// subagent starts) rather than after five paid attempts. Only contradictions that can be seen in the
// schema's own shape are looked for, cheaply and within a fixed depth: a false schema, an empty enum,
// a `required` key that `properties` and `additionalProperties: false` rule out, a type no enum or
// const value has, bounds that cross. Whether it is JSON Schema at all is the runner's to say
// (AgentRunner.checkSchema compiles it).

/** Deepest level looked at; deeper parts are left to validation. */
const MAX_DEPTH = 16;

type Schema = Record<string, unknown>;

/**
 * Why the schema can never validate, or null. `where` names the part, as a script author would
 * find it: `the schema`, `properties.files.items`.
 */
export function unsatisfiableSchema(schema: Record<string, unknown>): string | null {
  const type = schema.type;
  if (type !== 'object') {
    return `the schema's root must be { type: 'object', ... }, got ${type === undefined ? 'no type' : `type ${JSON.stringify(type)}`}: an agent answers with an object; wrap the value, e.g. { type: 'object', required: ['value'], properties: { value: <your schema> } }`;
  }
  return problemIn(schema, 'the schema', 0);
}

function problemIn(schema: unknown, where: string, depth: number): string | null {
  if (schema === false) return `${where} is false, which no value matches`;
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema) || depth > MAX_DEPTH) return null;
  const s = schema as Schema;
  return ownProblem(s, where) ?? objectProblem(s, where, depth) ?? arrayProblem(s, where, depth);
}

const TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);

/** The JSON Schema types of `value` ('integer' is also a 'number'). */
function typesOf(value: unknown): string[] {
  if (value === null) return ['null'];
  if (Array.isArray(value)) return ['array'];
  if (typeof value === 'number') return Number.isInteger(value) ? ['number', 'integer'] : ['number'];
  return [typeof value];
}

function ownProblem(s: Schema, where: string): string | null {
  const types = typeof s.type === 'string' ? [s.type] : Array.isArray(s.type) ? s.type : null;
  if (types !== null && types.length === 0) return `${where} has type [], which no value matches: list at least one type`;
  if (types !== null && types.every((t) => typeof t === 'string' && !TYPES.has(t))) {
    return `${where} has type ${JSON.stringify(s.type)}, which is not a JSON Schema type: use ${[...TYPES].join(', ')}`;
  }
  if (Array.isArray(s.enum)) {
    if (s.enum.length === 0) return `${where} has an empty enum, which no value matches: list the values it may take`;
    if (types !== null && !s.enum.some((value) => typesOf(value).some((t) => types.includes(t)))) {
      return `${where} has type ${JSON.stringify(s.type)} but none of its enum values ${JSON.stringify(s.enum).slice(0, 80)} is of that type`;
    }
  }
  if ('const' in s && types !== null && !typesOf(s.const).some((t) => types.includes(t))) {
    return `${where} has type ${JSON.stringify(s.type)} but its const ${JSON.stringify(s.const).slice(0, 80)} is not of that type`;
  }
  for (const [low, high] of [['minimum', 'maximum'], ['minLength', 'maxLength'], ['minItems', 'maxItems'], ['minProperties', 'maxProperties']] as const) {
    if (typeof s[low] === 'number' && typeof s[high] === 'number' && (s[low] as number) > (s[high] as number)) {
      return `${where} has ${low} ${s[low]} above its ${high} ${s[high]}, which no value satisfies`;
    }
  }
  return null;
}

/** A required property the schema rules out, or one whose own schema can never match. */
function objectProblem(s: Schema, where: string, depth: number): string | null {
  if (!Array.isArray(s.required)) return null;
  const properties = s.properties !== null && typeof s.properties === 'object' && !Array.isArray(s.properties) ? (s.properties as Schema) : {};
  const closed = s.additionalProperties === false && s.patternProperties === undefined;
  for (const key of s.required) {
    if (typeof key !== 'string') continue;
    if (!Object.hasOwn(properties, key)) {
      if (closed) return `${where} requires ${JSON.stringify(key)} but does not list it in properties, and additionalProperties is false: add it to properties or drop it from required`;
      continue;
    }
    const problem = problemIn(properties[key], `${where === 'the schema' ? '' : `${where}.`}properties.${key}`, depth + 1);
    if (problem) return `${problem} (and ${JSON.stringify(key)} is required)`;
  }
  return null;
}

/** An array that must hold an item no item schema matches. */
function arrayProblem(s: Schema, where: string, depth: number): string | null {
  if (typeof s.minItems !== 'number' || s.minItems < 1 || s.items === undefined || Array.isArray(s.items)) return null;
  return problemIn(s.items, `${where}.items`, depth + 1);
}
