// Where a script's JSON Schema is compiled and model answers are checked against it: a thread of
// its own, because both are code the script chose. A `pattern` such as ^(a|a)+$ backtracks for
// minutes on the right answer, and uniqueItems over a long array is quadratic; on the main thread
// either held the event loop, and with it the CPU and wall watchdogs and SIGTERM. The main side
// (schema-validator.ts) ends this thread when a request overruns its deadline.
import { parentPort, workerData } from 'node:worker_threads';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export type SchemaRequest = { id: number; schema: string; compileOnly: true } | { id: number; schema: string; value: unknown };

export type SchemaReply =
  | { type: 'ready' }
  /** A pattern the schema uses got this number: `running` holds it while the pattern runs. */
  | { type: 'pattern'; number: number; source: string }
  | { type: 'forget-patterns' }
  | { type: 'done'; id: number; errors: string[] | null }
  | { type: 'invalid-schema'; id: number; message: string };

/** Error lines sent back for one answer; an answer wrong everywhere needs only the first ones fixed. */
const MAX_ERROR_LINES = 50;
/** Bounds this thread's memory across the many schemas one run may use. */
const MAX_COMPILED_SCHEMAS = 1_000;

const port = parentPort!;
/** [0]: number of the pattern being run, -1 when none; read by the main thread on a timeout. */
const running = new Int32Array((workerData as { running: SharedArrayBuffer }).running);
let patternCount = 0;

/** Ajv's regExp option: each pattern runs through here, so a timeout can name the one that hung. */
const namedRegExp = Object.assign(
  (source: string, flags: string) => {
    const re = new RegExp(source, flags);
    const number = patternCount++;
    port.postMessage({ type: 'pattern', number, source } satisfies SchemaReply);
    return {
      test(text: string): boolean {
        Atomics.store(running, 0, number);
        const matched = re.test(text);
        Atomics.store(running, 0, -1);
        return matched;
      },
      // Ajv keys the patterns of a schema by this: it must differ per pattern.
      toString: () => `/${source}/${flags}`,
    };
  },
  { code: 'foremanNamedRegExp' },
);

// logger: false, as an unknown `format` is ignored (strict: false) and must not write to stderr.
const newAjv = () => new Ajv({ allErrors: true, strict: false, logger: false, code: { regExp: namedRegExp } });
let ajv = newAjv();
const compiled = new Map<string, ValidateFunction>();

function compile(text: string): ValidateFunction {
  let validate = compiled.get(text);
  if (validate) return validate;
  if (compiled.size >= MAX_COMPILED_SCHEMAS) {
    // A new Ajv, not removeSchema(): Ajv keeps the patterns it made in a scope of its own.
    compiled.clear();
    ajv = newAjv();
    patternCount = 0;
    port.postMessage({ type: 'forget-patterns' } satisfies SchemaReply);
  }
  // A "$schema" naming a draft this Ajv does not load (e.g. 2020-12) would fail compilation;
  // the keywords scripts use mean the same in every draft.
  const { $schema: _draft, ...body } = JSON.parse(text) as Record<string, unknown>;
  validate = ajv.compile(body);
  compiled.set(text, validate);
  return validate;
}

port.on('message', (request: SchemaRequest) => {
  let validate: ValidateFunction;
  try {
    validate = compile(request.schema);
  } catch (error) {
    port.postMessage({ type: 'invalid-schema', id: request.id, message: error instanceof Error ? error.message : String(error) } satisfies SchemaReply);
    return;
  }
  if ('compileOnly' in request) {
    port.postMessage({ type: 'done', id: request.id, errors: null } satisfies SchemaReply);
    return;
  }
  const errors = validate(request.value) ? null : describeErrors(validate.errors ?? []);
  port.postMessage({ type: 'done', id: request.id, errors } satisfies SchemaReply);
});
port.postMessage({ type: 'ready' } satisfies SchemaReply);

/** One line per problem, written for the model. */
function describeErrors(errors: ErrorObject[]): string[] {
  if (errors.length === 0) return ['- the result is invalid'];
  const lines = errors.slice(0, MAX_ERROR_LINES).map(describeError);
  if (errors.length > MAX_ERROR_LINES) lines.push(`- … and ${errors.length - MAX_ERROR_LINES} more problems`);
  return lines;
}

function describeError(error: ErrorObject): string {
  const where = error.instancePath === '' ? 'the result' : `at ${error.instancePath}`;
  const params = error.params as Record<string, unknown>;
  let detail = '';
  if (error.keyword === 'additionalProperties') detail = `: "${String(params.additionalProperty)}"`;
  else if (error.keyword === 'enum') detail = `: ${JSON.stringify(params.allowedValues)}`;
  return `- ${where} ${error.message ?? 'is invalid'}${detail}`;
}
