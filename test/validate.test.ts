import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { ScriptValidationError, validateScript } from '../src/workflows/validate.ts';

const FILE = '.claude/workflows/sample.js';
const META = "export const meta = { name: 'sample', description: 'A sample workflow' }\n";

/** The DESIGN §1 example, verbatim (shared with the end-to-end test). */
const DESIGN_EXAMPLE = readFileSync(new URL('./fixtures/design-example.js', import.meta.url), 'utf8');

function rejection(source: string): ScriptValidationError {
  try {
    validateScript(source, FILE);
  } catch (error) {
    assert.ok(error instanceof ScriptValidationError, `expected ScriptValidationError, got ${error}`);
    return error;
  }
  assert.fail('expected the script to be rejected');
}

function assertRejected(source: string, line: number, column: number, problem: RegExp, fix?: RegExp): ScriptValidationError {
  const error = rejection(source);
  assert.deepEqual([error.line, error.column], [line, column], error.message);
  assert.match(error.problem, problem);
  if (fix) assert.match(error.fix, fix);
  assert.equal(error.file, FILE);
  assert.equal(error.message, `${FILE}:${line}:${column}: ${error.problem}\n  fix: ${error.fix}`);
  return error;
}

test('accepts the DESIGN §1 example with top-level await and return', () => {
  const script = validateScript(DESIGN_EXAMPLE, FILE);
  assert.deepEqual(script.meta, {
    name: 'audit',
    description: 'Audit code for a concern; keep findings that survive review',
    whenToUse: 'args: the concern to audit, e.g. "auth"',
    phases: [{ title: 'Map' }, { title: 'Audit' }, { title: 'Verify' }],
  });
  assert.equal(script.source, DESIGN_EXAMPLE);
  assert.equal(script.file, FILE);
});

test('body blanks only the meta export keyword and runs as an async function body', async () => {
  const { body, source } = validateScript(DESIGN_EXAMPLE, FILE);
  assert.equal(body.length, source.length);
  assert.equal(body.slice(0, 6), '      ');
  assert.equal(body.slice(6), source.slice(6));

  const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<unknown>;
  const run = new AsyncFunction('agent', 'pipeline', 'phase', 'args', body);
  const agent = async (_prompt: string, opts: { label?: string }) =>
    opts.label ? { findings: [{ file: opts.label, title: 'flaw' }] } : { files: ['a.ts', 'b.ts'] };
  const pipeline = (items: unknown[], stage: (item: unknown) => unknown) => Promise.all(items.map(stage));
  assert.deepEqual(await run(agent, pipeline, () => {}, 'auth'), {
    findings: [
      { file: 'a.ts', title: 'flaw' },
      { file: 'b.ts', title: 'flaw' },
    ],
  });
});

test('accepts every literal form in meta, including negative numbers and plain templates', () => {
  const { meta } = validateScript(
    "// leading comment\nexport const meta = { name: `plain`, 'description': \"d\", n: -1.5, ok: true, none: null, list: [1, 'x', { a: [] }] }\n",
    FILE,
  );
  assert.deepEqual(meta, { name: 'plain', description: 'd', n: -1.5, ok: true, none: null, list: [1, 'x', { a: [] }] });
});

test('a __proto__ key in meta stays data', () => {
  const { meta } = validateScript("export const meta = { name: 'n', description: 'd', __proto__: { polluted: true } }", FILE);
  assert.equal(Object.getPrototypeOf(meta), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(meta, '__proto__')?.value, { polluted: true });
});

test('missing meta is reported at 1:1', () => {
  assertRejected("const x = 1\nreturn x\n", 1, 1, /first statement must be `export const meta = \{/, /export const meta/);
  assertRejected('', 1, 1, /first statement must be `export const meta/);
});

test('meta that is not the first statement is reported where it is', () => {
  assertRejected("const x = 1\n  export const meta = { name: 'n', description: 'd' }\n", 2, 3, /must be the first statement/, /move/);
});

test('meta must be a const object literal', () => {
  assertRejected("export let meta = { name: 'n', description: 'd' }\n", 1, 8, /declared with `const`, not `let`/);
  assertRejected("const m = {}\nexport const meta = m\n", 2, 1, /must be the first statement/);
  assertRejected("export const meta = m\n", 1, 21, /meta must be an object literal/);
  assertRejected("export const meta = { name: 'n', description: 'd' }, other = 1\n", 1, 54, /declare only `meta`/);
});

test('meta values must be pure literals', () => {
  const notLiteral = /meta must be a pure literal/;
  // a variable
  assertRejected("export const meta = {\n  name: NAME, description: 'd' }\n", 2, 9, /variable \(`NAME`\)/, /literal/);
  // a shorthand property is a variable too
  assertRejected("export const meta = { name: 'n', description }\n", 1, 34, /variable \(`description`\)/);
  // a call
  assertRejected("export const meta = { name: 'n', description: describe('x') }\n", 1, 47, /function call/);
  assertRejected("export const meta = { name: 'n', description: 'd', at: new Date(0) }\n", 1, 56, /function call/);
  // a spread
  assertRejected("export const meta = { name: 'n', description: 'd', ...base }\n", 1, 52, /spread/);
  assertRejected("export const meta = { name: 'n', description: 'd', tags: [...tags] }\n", 1, 59, /spread/);
  // interpolation: the interpolated expression is reported
  assertRejected("export const meta = { name: 'n', description: `for ${args}` }\n", 1, 54, /template interpolation/);
  // a computed key
  assertRejected("export const meta = { name: 'n', description: 'd', ['k']: 1 }\n", 1, 52, /computed key/);
  // a method, getter and setter
  assertRejected("export const meta = { name: 'n', description: 'd',\n  run() {} }\n", 2, 3, /a method/);
  assertRejected("export const meta = { name: 'n', description: 'd', get x() { return 1 } }\n", 1, 52, /a getter/);
  assertRejected("export const meta = { name: 'n', description: 'd', set x(v) {} }\n", 1, 52, /a setter/);
  // other expressions
  assertRejected("export const meta = { name: 'n' + 'm', description: 'd' }\n", 1, 29, /BinaryExpression/);
  assertRejected("export const meta = { name: 'n', description: 'd', n: +1 }\n", 1, 55, notLiteral);
  assertRejected("export const meta = { name: 'n', description: 'd', r: /x/ }\n", 1, 55, /regular expression/);
  assertRejected("export const meta = { name: 'n', description: 'd', b: 1n }\n", 1, 55, /BigInt/);
  assertRejected("export const meta = { name: 'n', description: 'd', l: [1,,2] }\n", 1, 55, /holes/);
  assertRejected("export const meta = { name: 'n', description: 'd', f: () => 1 }\n", 1, 55, /ArrowFunctionExpression/);
});

test('meta.name and meta.description must be non-empty strings', () => {
  assertRejected("export const meta = { description: 'd' }\n", 1, 21, /meta\.name is missing/, /add `name:/);
  assertRejected("export const meta = { name: 'n' }\n", 1, 21, /meta\.description is missing/, /add `description:/);
  assertRejected("export const meta = { name: '', description: 'd' }\n", 1, 29, /meta\.name must be a non-empty string/);
  assertRejected("export const meta = { name: 'n', description: 42 }\n", 1, 47, /meta\.description must be a non-empty string/);
  assertRejected("export const meta = { name: 'n', description: 'd', whenToUse: 1 }\n", 1, 63, /whenToUse must be a string/);
});

test('meta.phases must be an array of objects with a string title', () => {
  assertRejected("export const meta = { name: 'n', description: 'd', phases: 'Map' }\n", 1, 60, /phases must be an array/);
  assertRejected("export const meta = { name: 'n', description: 'd', phases: ['Map'] }\n", 1, 61, /must be an object with a `title`/);
  assertRejected("export const meta = { name: 'n', description: 'd', phases: [{ label: 'Map' }] }\n", 1, 61, /no `title`/);
  assertRejected("export const meta = { name: 'n', description: 'd', phases: [{ title: 3 }] }\n", 1, 70, /title` must be a non-empty string/);
});

test('import declarations are rejected', () => {
  assertRejected(`${META}import fs from 'node:fs'\n`, 2, 1, /`import` declarations are not allowed/, /remove it/);
  // an import above meta is still reported as the misplaced meta first
  assertRejected(`import fs from 'node:fs'\n${META}`, 2, 1, /must be the first statement/);
});

test('dynamic import() is rejected', () => {
  assertRejected(`${META}const fs = await import('node:fs')\n`, 2, 18, /dynamic `import\(\)` is not allowed/);
  assertRejected(`${META}async function load() {\n  return import('x')\n}\n`, 3, 10, /dynamic `import\(\)`/);
});

test('import.meta is rejected', () => {
  assertRejected(`${META}log(import.meta.url)\n`, 2, 5, /`import\.meta` is not available/);
});

test('require() is rejected anywhere', () => {
  assertRejected(`${META}const fs = require('fs')\n`, 2, 12, /`require\(\)` is not allowed/);
  assertRejected(`${META}await parallel([() => { return require('x') }])\n`, 2, 32, /`require\(\)`/);
});

test('exports other than meta are rejected', () => {
  const exported = /only `export const meta` may be exported/;
  assertRejected(`${META}export const other = 1\n`, 2, 1, exported, /top-level `return`/);
  assertRejected(`${META}export default 42\n`, 2, 1, exported);
  assertRejected(`${META}const a = 1\nexport { a }\n`, 3, 1, exported);
  assertRejected(`${META}export * from 'x'\n`, 2, 1, exported);
});

test('TypeScript syntax is reported at its first character', () => {
  const typeScript = /^TypeScript syntax is not supported in workflow scripts$/;
  const fix = /^write plain JavaScript \(remove type annotations, interfaces, `as` casts\)$/;
  // a type annotation, with top-level return further down
  assertRejected(`${META}const y = 2\nlet x: number = 1\nreturn x\n`, 3, 6, typeScript, fix);
  // an interface
  assertRejected(`${META}\ninterface Finding { file: string }\nreturn 1\n`, 3, 1, typeScript, fix);
  // an `as` cast
  assertRejected(`${META}const result = (await agent('x')) as string\n`, 2, 35, typeScript, fix);
  // generic parameters and parameter types
  assertRejected(`${META}function first<T>(items: T[]) { return items[0] }\n`, 2, 15, typeScript, fix);
});

test('TypeScript that cannot be stripped falls back to the JavaScript syntax error', () => {
  assertRejected(`${META}enum Color { Red }\n`, 2, 1, /^The keyword 'enum' is reserved$/, /fix the JavaScript syntax error/);
});

test('a plain syntax error is reported with acorn position and message', () => {
  const error = assertRejected(`${META}const = 3\n`, 2, 7, /^Unexpected token$/, /^fix the JavaScript syntax error$/);
  assert.doesNotMatch(error.problem, /\(\d+:\d+\)/);
  assertRejected(`${META}if (x {\n}\n`, 2, 7, /^Unexpected token$/);
});

test('TypeScript detection prints no ExperimentalWarning', () => {
  // Node warns once per process, so only a fresh process shows whether the warning leaks.
  const validateUrl = new URL('../src/workflows/validate.ts', import.meta.url).href;
  const program = `
    import { validateScript } from ${JSON.stringify(validateUrl)};
    try { validateScript(${JSON.stringify(`${META}let x: number = 1\n`)}, 'x.js'); } catch (error) { console.log(error.problem); }
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '--eval', program], { encoding: 'utf8' });
  assert.equal(child.stdout.trim(), 'TypeScript syntax is not supported in workflow scripts');
  assert.equal(child.stderr, '');
});
