import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { MAX_SCRIPT_CHARS, ScriptValidationError, validateScript } from '../src/workflows/validate.ts';
import { DEFINED_NAMES } from '../src/workflows/sandbox-globals.ts';
import { runInSandbox } from '../src/runtime/sandbox.ts';
import { startFakeAnthropic, text } from './support/fake-anthropic.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { runCli } from './support/cli.ts';

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
  const first = `${FILE}:${line}:${column}: ${error.problem}\n  fix: ${error.fix}`;
  if (error.more.length === 0) assert.equal(error.message, first);
  else assert.ok(error.message.startsWith(`${first}\n`), error.message);
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

test('require() is rejected anywhere, unless the script tests typeof require (it is undefined at run time, as in Claude Code)', () => {
  assertRejected(`${META}const fs = require('fs')\n`, 2, 12, /`require\(\)` is not allowed/);
  assertRejected(`${META}await parallel([() => { return require('x') }])\n`, 2, 32, /`require\(\)`/);
  assert.doesNotThrow(() => validateScript(`${META}const fs = typeof require === 'function' ? require('fs') : null\nreturn fs\n`, FILE));
  assert.doesNotThrow(() => validateScript(`${META}if (typeof require !== 'undefined') require('x')\nreturn 1\n`, FILE));
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

// ---- names used without a declaration ----------------------------------------------------------

test('a name used without a declaration is reported at its first use, with what to do', () => {
  // The first example of docs/script-api.md as it was: FILES was never declared.
  const source = `${META}phase('Map')\nconst map = await agent(\`List files that handle \${args}\`, { schema: FILES, model: 'haiku' })\nreturn map.files.concat(FILES)\n`;
  const error = assertRejected(source, 3, 69, /^"FILES" is not defined$/, /declare it before use \(`const FILES = \.\.\.`\).*workflow globals \(agent, parallel/);
  assert.deepEqual(error.more, [], 'a name is reported once');
});

test('every undefined name is reported in one error, each at its position, with a fix that fits it', () => {
  const error = assertRejected(
    `${META}await new Promise((resolve) => setTimeout(resolve, 10))\nconst env = process.env.TOKEN\nreturn agnet(env)\n`,
    2,
    32,
    /^"setTimeout" is not defined$/,
    /timers do not exist in the sandbox/,
  );
  assert.deepEqual(
    error.more.map(({ line, column, problem }) => [line, column, problem]),
    [
      [3, 13, '"process" is not defined'],
      [4, 8, '"agnet" is not defined'],
    ],
  );
  assert.match(error.more[0].fix, /no `process`.*through args/);
  assert.match(error.more[1].fix, /^did you mean `agent`\?/);
  // The message is the one `foreman validate` prints: a file:line:column line per name.
  assert.deepEqual(
    error.message.split('\n').filter((line) => !line.startsWith('  ')),
    [`${FILE}:2:32: "setTimeout" is not defined`, `${FILE}:3:13: "process" is not defined`, `${FILE}:4:8: "agnet" is not defined`],
  );
});

test('assigning to an undeclared name is an error; a near miss of a declared name is suggested', () => {
  const error = assertRejected(`${META}const results = []\nresult = await agent('x')\nreturn results\n`, 3, 1, /^"result" is not defined$/, /did you mean `results`/);
  assert.equal(error.more.length, 0);
  assertRejected(`${META}total = 0\nreturn total\n`, 2, 1, /^"total" is not defined$/, /declare it before assigning to it: `let total = \.\.\.`/);
});

test('after ten names the rest are counted, not listed', () => {
  const names = Array.from({ length: 13 }, (_, i) => `missing${i}`);
  const error = rejection(`${META}return [${names.join(', ')}]\n`);
  assert.equal(error.more.length, 9);
  assert.match(error.more[8].fix, /and 3 more undefined names after this one/);
});

test('scoping follows the language: hoisting, blocks, functions, classes, patterns, catch, labels', () => {
  // Every name below is declared where it is used; none may be reported.
  const source = `${META}
const SCHEMA = { type: 'object' }
log(hoisted(), later, typeof later)
function hoisted() { return inner(); function inner() { return arguments.length } }
var later = 1
if (later) { var fromBlock = 2; function annexB() { return fromBlock } }
annexB()
const { a, b: [c, d = a], ...rest } = { a: 1, b: [2] }
const [first = c, , ...others] = [d, rest]
label: for (const item of others) { for (let i = 0; i < 2; i++) { if (i) continue label; break label } }
for (var k in rest) log(k)
for (const [key, value] of Object.entries(rest)) log(key + value)
try { JSON.parse('x') } catch ({ message }) { log(message) } finally { log(first) }
try { log(1) } catch { log(2) }
switch (later) { case 1: let inCase = 3; log(inCase); break; default: log(inCase) }
class Finding extends Error {
  static count = 0
  #secret = SCHEMA
  label = Finding.count
  get secret() { return this.#secret }
  [Symbol.iterator]() { return [].values() }
  static { var staticOnly = Finding.count; log(staticOnly) }
}
const Named = class Self { clone() { return new Self() } }
const fn = function recurse(n = later, { depth } = { depth: n }) { return n ? recurse(n - 1, { depth }) : depth }
const arrow = async (x, ...ys) => x + ys.length + (await agent('q', { schema: SCHEMA, label: \`\${x}\` }))
const shorthand = { fn, arrow, Named, get g() { return this }, m() { return super.toString() } }
const member = shorthand.fn.name + shorthand['arrow'].length + new Finding().secret + globalThis.Math.max(1)
let counter = 0; counter++; counter += 1; [counter] = [2]; ({ counter } = { counter: 3 })
await parallel([() => agent('a'), () => change('b').then((ch) => ch && gate(ch))])
log(console, budget.remaining(), pipeline, phase, workflow, propose, discard, fix, undefined, NaN, Infinity)
return { member, counter, args, later: typeof notDeclaredButTested === 'undefined' ? 0 : notDeclaredButTested }
`;
  assert.doesNotThrow(() => validateScript(source, FILE));
});

test('a block, function, catch or loop variable is not visible outside it', () => {
  assertRejected(`${META}{ let inBlock = 1 }\nreturn inBlock\n`, 3, 8, /^"inBlock" is not defined$/);
  assertRejected(`${META}function f() { var local = 1 }\nreturn local\n`, 3, 8, /^"local" is not defined$/);
  assertRejected(`${META}const f = (param) => param\nreturn param\n`, 3, 8, /^"param" is not defined$/);
  assertRejected(`${META}try {} catch (caught) {}\nreturn caught\n`, 3, 8, /^"caught" is not defined$/);
  assertRejected(`${META}for (let i = 0; i < 1; i++) {}\nreturn i\n`, 3, 8, /^"i" is not defined$/);
  assertRejected(`${META}const c = class Self {}\nreturn Self\n`, 3, 8, /^"Self" is not defined$/);
  assertRejected(`${META}const f = function inner() {}\nreturn inner\n`, 3, 8, /^"inner" is not defined$/);
});

test('property keys, member names and labels are not variables; shorthand properties and defaults are', () => {
  assert.doesNotThrow(() => validateScript(`${META}const o = { key: 1, 'q': 2 }\nlbl: for (;;) break lbl\nreturn o.key + o.notThere\n`, FILE));
  assertRejected(`${META}return { shorthand }\n`, 2, 10, /^"shorthand" is not defined$/);
  assertRejected(`${META}return { [computed]: 1 }\n`, 2, 11, /^"computed" is not defined$/);
  assertRejected(`${META}return o2[key2]\n`, 2, 8, /^"o2" is not defined$/);
  assertRejected(`${META}function f(x = fallback) { return x }\nreturn f()\n`, 2, 16, /^"fallback" is not defined$/);
  assertRejected(`${META}class C extends Base {}\nreturn C\n`, 2, 17, /^"Base" is not defined$/);
});

test('a name the script tests with typeof is not reported, since the script guards it', () => {
  assert.doesNotThrow(() => validateScript(`${META}const r = typeof require === 'function' ? 1 : 0\nif (typeof structuredClone !== 'undefined') log(structuredClone(r))\nreturn r\n`, FILE));
  // typeof of a member still reads the object first.
  assertRejected(`${META}return typeof missing.x\n`, 2, 15, /^"missing" is not defined$/);
});

test('the known globals are exactly what the sandbox has', async () => {
  const names = await runInSandbox(
    { body: 'return Object.getOwnPropertyNames(globalThis)', file: FILE },
    { args: null, budgetTotal: null },
    { call: async () => null, log: () => {}, phase: () => {}, warn: () => {}, budgetSpent: () => 0 },
  );
  const expected = [...DEFINED_NAMES].filter((name) => name !== 'arguments').sort();
  assert.deepEqual((names as string[]).sort(), expected);
});

test('a script over 64 KB is refused before it is parsed', () => {
  const big = `${META}return '${'x'.repeat(MAX_SCRIPT_CHARS)}'\n`;
  const started = performance.now();
  assertRejected(big, 1, 1, /^the script is 65 KB; workflow scripts may be at most 64 KB$/, /through args/);
  assert.ok(performance.now() - started < 100);
});

test('nesting too deep to check is a validation error, not a crash', () => {
  assertRejected(`${META}return q${'.a'.repeat(20_000)}\n`, 1, 1, /^the script nests too deeply to be checked$/, /split long chains/);
});

test('the check stays fast on a script of many declarations and undefined names', () => {
  const parts: string[] = [];
  for (let i = 0, length = META.length; length < MAX_SCRIPT_CHARS - 32; i++) {
    const part = i % 2 ? `let v${i}=u${i}` : `u${i}=v${i - 1}`;
    parts.push(part);
    length += part.length + 1;
  }
  const started = performance.now();
  const error = rejection(`${META}${parts.join(';')}\n`);
  assert.match(error.problem, /is not defined/);
  assert.ok(performance.now() - started < 2000, `took ${performance.now() - started} ms`);
});

test('foreman validate exits 2 naming each undefined name; foreman run refuses the script before any run starts', async () => {
  const fake = await startFakeAnthropic({ handler: () => [text('unexpected')] });
  try {
    const script = `${META}const map = await agent('List files', { schema: FILES })\nsetTimeout(() => log(map), 10)\nreturn map\n`;
    const repo = makeRepo({ '.claude/workflows/undeclared.js': script });
    const home = tempDir();

    const validated = await runCli(['validate', join(repo, '.claude/workflows/undeclared.js')], { home });
    assert.equal(validated.code, 2, validated.stderr);
    assert.match(validated.stderr, /undeclared\.js:2:49: "FILES" is not defined\n {2}fix: declare it before use/);
    assert.match(validated.stderr, /undeclared\.js:3:1: "setTimeout" is not defined\n {2}fix: timers do not exist in the sandbox/);

    const ran = await runCli(['run', 'undeclared', '--repo', repo], { home, baseURL: fake.url });
    assert.equal(ran.code, 2, ran.stderr);
    assert.match(ran.stderr, /"FILES" is not defined/);
    assert.doesNotMatch(ran.stderr, /^run \d/m, 'no run was created');
    assert.equal(fake.calls, 0);
  } finally {
    await fake.close();
  }
});
