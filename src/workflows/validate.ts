// Checks a workflow script before any run starts, so that every mistake a user (or a generating
// model) can make is reported with file:line:column, what is wrong, and how to fix it.

import { getLineInfo, parse } from 'acorn';
import type { ArrayExpression, Expression, Node, ObjectExpression, Options, Program, Property, SpreadElement } from 'acorn';
import { stripTypeScriptTypes } from 'node:module';
import { nearestName, quoteName } from '../text/did-you-mean.ts';
import { findFreeVariables } from './free-variables.ts';
import { DEFINED_NAMES, ONLY_GLOBALS, undefinedNameFix } from './sandbox-globals.ts';

export interface WorkflowMeta {
  name: string;
  description: string;
  whenToUse?: string;
  phases?: Array<{ title: string; [k: string]: unknown }>;
  /** Foreman: the workflow's plain agents only list, read and search (audits of untrusted input). */
  readOnly?: boolean;
  [k: string]: unknown;
}

export interface ValidatedScript {
  meta: WorkflowMeta;
  source: string;
  /** source with the `export` keyword of meta blanked to spaces, so line/column positions are unchanged; ready to be wrapped in an async function body */
  body: string;
  file: string;
}

export interface ScriptProblem {
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly column: number;
  readonly problem: string;
  readonly fix: string;
}

export class ScriptValidationError extends Error implements ScriptProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly problem: string;
  readonly fix: string;
  /** Further problems found in the same pass (undefined names after the first), in source order. */
  readonly more: readonly ScriptProblem[];

  constructor(file: string, line: number, column: number, problem: string, fix: string, more: readonly ScriptProblem[] = []) {
    super([{ line, column, problem, fix }, ...more].map((p) => `${file}:${p.line}:${p.column}: ${p.problem}\n  fix: ${p.fix}`).join('\n'));
    this.name = 'ScriptValidationError';
    this.file = file;
    this.line = line;
    this.column = column;
    this.problem = problem;
    this.fix = fix;
    this.more = more;
  }
}

const PARSE_OPTIONS: Options = {
  ecmaVersion: 'latest',
  sourceType: 'module',
  allowReturnOutsideFunction: true,
  allowAwaitOutsideFunction: true,
  locations: true,
};

const META_SHAPE = '`export const meta = { name: ..., description: ... }`';
const USE_GLOBALS_FIX = `remove it; ${ONLY_GLOBALS}`;
const LITERAL_FIX =
  'write the value out as a literal (string, number, boolean, null, array or object); meta is read without running the script';

/**
 * Scripts are hostile input and acorn's checks for redeclared names cost the square of the names
 * in one scope (64 KB of `let a,b,c…` parses in about 0.2 s, 200 KB in 10 s); the largest
 * built-in workflow is 4 KB, and a generated one is capped by the model's output tokens.
 */
export const MAX_SCRIPT_CHARS = 64 * 1024;
/** Undefined names listed in one error; more are counted, not listed. */
const MAX_LISTED_NAMES = 10;

export function validateScript(source: string, file: string): ValidatedScript {
  const errorAt = (offset: number, problem: string, fix: string): ScriptValidationError => {
    const { line, column } = getLineInfo(source, offset);
    return new ScriptValidationError(file, line, column + 1, problem, fix);
  };

  if (source.length > MAX_SCRIPT_CHARS) {
    throw errorAt(
      0,
      `the script is ${Math.ceil(source.length / 1024)} KB; workflow scripts may be at most ${MAX_SCRIPT_CHARS / 1024} KB`,
      'keep data out of the script: agents read the repository themselves, and input comes in through args',
    );
  }
  const program = parseScript(source, errorAt);
  const metaDeclaration = findMetaDeclaration(program, errorAt);
  const meta = readMeta(metaDeclaration.object, errorAt);
  try {
    rejectForbiddenSyntax(program, metaDeclaration.statement, errorAt);
    rejectUndefinedNames(program, source, file);
  } catch (error) {
    // The checks recurse over the tree, which acorn builds without recursing for chains such as
    // a.b.c… or f()()…: nesting a few thousand deep outruns the stack.
    if (!(error instanceof RangeError && /call stack/i.test(error.message))) throw error;
    throw errorAt(0, 'the script nests too deeply to be checked', 'split long chains and deeply nested functions into separate statements');
  }

  const exportKeyword = metaDeclaration.statement.start;
  const body = source.slice(0, exportKeyword) + ' '.repeat('export'.length) + source.slice(exportKeyword + 'export'.length);
  return { meta, source, body, file };
}

type ErrorAt = (offset: number, problem: string, fix: string) => ScriptValidationError;

function parseScript(source: string, errorAt: ErrorAt): Program {
  try {
    return parse(source, PARSE_OPTIONS);
  } catch (error) {
    if (!(error instanceof SyntaxError) || typeof (error as { pos?: unknown }).pos !== 'number') throw error;
    const typeScriptAt = locateTypeScriptSyntax(source);
    if (typeScriptAt !== null) {
      throw errorAt(
        typeScriptAt,
        'TypeScript syntax is not supported in workflow scripts',
        'write plain JavaScript (remove type annotations, interfaces, `as` casts)',
      );
    }
    const problem = error.message.replace(/\s*\(\d+:\d+\)$/, '');
    throw errorAt((error as SyntaxError & { pos: number }).pos, problem, 'fix the JavaScript syntax error');
  }
}

/**
 * Offset of the first TypeScript-only character, or null when the source is not valid TypeScript
 * either. Node's type stripper keeps positions, so the first character it changed is the answer.
 */
function locateTypeScriptSyntax(source: string): number | null {
  // The stripper parses a module and refuses top-level `return`, which workflow scripts use; the
  // second attempt therefore wraps the script in a function, where `export` is not allowed.
  const attempts = [
    { prefix: '', text: source, suffix: '' },
    { prefix: 'async function workflowScript() {', text: source.replace(/^export(?=\s)/gm, '      '), suffix: '\n}' },
  ];
  for (const { prefix, text, suffix } of attempts) {
    const stripped = stripTypesQuietly(prefix + text + suffix);
    if (stripped === null || !parsesAsJavaScript(stripped)) continue;
    const offset = firstDifference(text, stripped.slice(prefix.length, stripped.length - suffix.length));
    if (offset !== null) return offset;
  }
  return null;
}

function stripTypesQuietly(code: string): string | null {
  // stripTypeScriptTypes is experimental and warns once per process; that warning would land in
  // the middle of CLI output for a user who never asked for TypeScript.
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    if (String(warning instanceof Error ? warning.message : warning).includes('stripTypeScriptTypes')) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return stripTypeScriptTypes(code, { mode: 'strip' });
  } catch {
    return null;
  } finally {
    process.emitWarning = emitWarning;
  }
}

function parsesAsJavaScript(code: string): boolean {
  try {
    parse(code, PARSE_OPTIONS);
    return true;
  } catch {
    return false;
  }
}

function firstDifference(a: string, b: string): number | null {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? null : length;
}

interface MetaDeclaration {
  statement: Node;
  object: ObjectExpression;
}

function declaresMeta(statement: Node): boolean {
  if (statement.type !== 'ExportNamedDeclaration') return false;
  const declaration = (statement as Node & { declaration?: Node | null }).declaration;
  if (declaration?.type !== 'VariableDeclaration') return false;
  const declarators = (declaration as Node & { declarations: Array<{ id: Node }> }).declarations;
  return declarators.some(({ id }) => id.type === 'Identifier' && (id as Node & { name: string }).name === 'meta');
}

function findMetaDeclaration(program: Program, errorAt: ErrorAt): MetaDeclaration {
  const first = program.body[0];
  if (!first || !declaresMeta(first)) {
    const misplaced = program.body.find(declaresMeta);
    if (misplaced) {
      throw errorAt(
        misplaced.start,
        '`export const meta` must be the first statement of the script',
        'move the meta declaration above all other code (comments may precede it)',
      );
    }
    throw errorAt(0, `the first statement must be ${META_SHAPE}`, `start the script with ${META_SHAPE} describing the workflow`);
  }

  const declaration = (first as Node & { declaration: Node & { kind: string; declarations: Array<Node & { init?: Expression | null }> } })
    .declaration;
  if (declaration.kind !== 'const') {
    throw errorAt(declaration.start, `meta must be declared with \`const\`, not \`${declaration.kind}\``, `write ${META_SHAPE}`);
  }
  if (declaration.declarations.length > 1) {
    throw errorAt(
      declaration.declarations[1].start,
      'the meta declaration must declare only `meta`',
      'declare other constants in their own statement without `export`',
    );
  }
  const init = declaration.declarations[0].init;
  if (!init || init.type !== 'ObjectExpression') {
    throw errorAt(init?.start ?? declaration.start, 'meta must be an object literal', `write ${META_SHAPE}`);
  }
  return { statement: first, object: init };
}

function readMeta(object: ObjectExpression, errorAt: ErrorAt): WorkflowMeta {
  const meta = literalValue(object, errorAt) as Record<string, unknown>;

  for (const key of ['name', 'description']) {
    const property = findProperty(object, key);
    if (!property) {
      throw errorAt(object.start, `meta.${key} is missing`, `add \`${key}: '...'\` to meta`);
    }
    const value = meta[key];
    if (typeof value !== 'string' || value.trim() === '') {
      throw errorAt(property.value.start, `meta.${key} must be a non-empty string`, `set \`${key}\` to a non-empty string`);
    }
  }

  const whenToUse = findProperty(object, 'whenToUse');
  if (whenToUse && typeof meta.whenToUse !== 'string') {
    throw errorAt(whenToUse.value.start, 'meta.whenToUse must be a string', 'describe when to use the workflow (and its args) in a string');
  }

  const readOnly = findProperty(object, 'readOnly');
  if (readOnly && typeof meta.readOnly !== 'boolean') {
    throw errorAt(readOnly.value.start, 'meta.readOnly must be true or false', "write `readOnly: true` to keep the workflow's agents from editing files or running commands, or leave it out");
  }

  const phases = findProperty(object, 'phases');
  if (phases) {
    const phasesFix = "write phases as `[{ title: 'Map' }, { title: 'Audit' }]`";
    if (phases.value.type !== 'ArrayExpression') {
      throw errorAt(phases.value.start, 'meta.phases must be an array', phasesFix);
    }
    for (const element of (phases.value as ArrayExpression).elements as Node[]) {
      if (element.type !== 'ObjectExpression') {
        throw errorAt(element.start, 'each entry of meta.phases must be an object with a `title`', phasesFix);
      }
      const title = findProperty(element as ObjectExpression, 'title');
      if (!title) throw errorAt(element.start, 'this phase has no `title`', phasesFix);
      const titleValue = literalValue(title.value, errorAt);
      if (typeof titleValue !== 'string' || titleValue.trim() === '') {
        throw errorAt(title.value.start, 'a phase `title` must be a non-empty string', phasesFix);
      }
    }
  }

  return meta as WorkflowMeta;
}

function propertyKey(property: Property): string {
  const key = property.key as Node & { name?: string; value?: unknown };
  return key.type === 'Identifier' ? (key.name as string) : String(key.value);
}

/** The last property with this key wins, as it does when JavaScript evaluates the literal. */
function findProperty(object: ObjectExpression, key: string): Property | undefined {
  return (object.properties as Property[]).findLast((property) => propertyKey(property) === key);
}

/** Evaluates a pure literal, naming the first node that is anything else. */
function literalValue(node: Node, errorAt: ErrorAt): unknown {
  const notLiteral = (at: Node, what: string) =>
    errorAt(at.start, `meta must be a pure literal, but this is ${what}`, LITERAL_FIX);

  switch (node.type) {
    case 'Literal': {
      const literal = node as Node & { value: unknown; regex?: unknown; bigint?: unknown };
      if (literal.regex) throw notLiteral(node, 'a regular expression');
      if (literal.bigint !== undefined) throw notLiteral(node, 'a BigInt');
      return literal.value;
    }
    case 'UnaryExpression': {
      const unary = node as Node & { operator: string; argument: Node & { value?: unknown } };
      if (unary.operator === '-' && unary.argument.type === 'Literal' && typeof unary.argument.value === 'number') {
        return -unary.argument.value;
      }
      throw notLiteral(node, `an expression (\`${unary.operator}\`)`);
    }
    case 'TemplateLiteral': {
      const template = node as Node & { expressions: Node[]; quasis: Array<{ value: { cooked?: string | null } }> };
      if (template.expressions.length > 0) throw notLiteral(template.expressions[0], 'a template interpolation (`${...}`)');
      return template.quasis[0].value.cooked;
    }
    case 'ArrayExpression':
      return (node as ArrayExpression).elements.map((element) => {
        if (element === null) throw notLiteral(node, 'an array with holes');
        return literalValue(element, errorAt);
      });
    case 'ObjectExpression': {
      const result: Record<string, unknown> = {};
      for (const property of (node as ObjectExpression).properties as Array<Property | SpreadElement>) {
        if (property.type === 'SpreadElement') throw notLiteral(property, 'a spread (`...`)');
        if (property.computed) throw notLiteral(property, 'a computed key (`[...]`)');
        if (property.kind !== 'init') throw notLiteral(property, `a ${property.kind}ter`);
        if (property.method) throw notLiteral(property, 'a method');
        if (property.shorthand) throw notLiteral(property, `a variable (\`${propertyKey(property)}\`)`);
        // defineProperty so that a `__proto__` key stays data instead of replacing the prototype.
        Object.defineProperty(result, propertyKey(property), {
          value: literalValue(property.value, errorAt),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return result;
    }
    case 'SpreadElement':
      throw notLiteral(node, 'a spread (`...`)');
    case 'Identifier':
      throw notLiteral(node, `a variable (\`${(node as Node & { name: string }).name}\`)`);
    case 'CallExpression':
    case 'NewExpression':
      throw notLiteral(node, 'a function call');
    default:
      throw notLiteral(node, `an expression (${node.type})`);
  }
}

interface AnyNode extends Node {
  [key: string]: unknown;
}

function forEachNode(node: AnyNode, visit: (node: AnyNode) => void): void {
  visit(node);
  for (const [key, value] of Object.entries(node)) {
    if (key === 'loc') continue;
    for (const child of Array.isArray(value) ? value : [value]) {
      if (child && typeof child === 'object' && typeof (child as Node).type === 'string') forEachNode(child as AnyNode, visit);
    }
  }
}

function rejectForbiddenSyntax(program: Program, metaStatement: Node, errorAt: ErrorAt): void {
  // `require` is undefined at run time, as in Claude Code. A script that tests `typeof require`
  // (`typeof require === 'function' ? require('x') : null`) runs, taking its other branch; one that
  // calls require() unguarded is refused here, before the run, as Claude Code refuses it.
  let requireCall: number | null = null;
  let requireTested = false;
  forEachNode(program as unknown as AnyNode, (node) => {
    if (node.type === 'UnaryExpression' && node.operator === 'typeof') {
      const argument = node.argument as Node & { name?: string };
      if (argument.type === 'Identifier' && argument.name === 'require') requireTested = true;
      return;
    }
    switch (node.type) {
      case 'ImportDeclaration':
        throw errorAt(node.start, '`import` declarations are not allowed in workflow scripts', USE_GLOBALS_FIX);
      case 'ImportExpression':
        throw errorAt(node.start, 'dynamic `import()` is not allowed in workflow scripts', USE_GLOBALS_FIX);
      case 'MetaProperty':
        if ((node.meta as { name: string }).name === 'import') {
          throw errorAt(node.start, '`import.meta` is not available in workflow scripts', USE_GLOBALS_FIX);
        }
        return;
      case 'CallExpression': {
        const callee = node.callee as Node & { name?: string };
        if (callee.type === 'Identifier' && callee.name === 'require') requireCall ??= node.start;
        return;
      }
      case 'ExportNamedDeclaration':
      case 'ExportDefaultDeclaration':
      case 'ExportAllDeclaration':
        if (node !== (metaStatement as unknown)) {
          throw errorAt(
            node.start,
            'only `export const meta` may be exported from a workflow script',
            "remove `export`; a script hands back its result with a top-level `return`",
          );
        }
    }
  });
  if (requireCall !== null && !requireTested) {
    throw errorAt(requireCall, '`require()` is not allowed in workflow scripts: `require` is undefined when the script runs', `${USE_GLOBALS_FIX} (a script that tests \`typeof require\` first may keep a guarded call)`);
  }
}

/** Every undeclared name at its first use, so that one round of fixes covers them all. */
function rejectUndefinedNames(program: Program, source: string, file: string): void {
  const { free, declared } = findFreeVariables(program, DEFINED_NAMES);
  if (free.length === 0) return;
  const problems: ScriptProblem[] = free.slice(0, MAX_LISTED_NAMES).map(({ name, start, assigned }) => {
    const { line, column } = getLineInfo(source, start);
    const suggestion = nearestName(name, [...declared, ...DEFINED_NAMES]);
    return { line, column: column + 1, problem: `${quoteName(name)} is not defined`, fix: undefinedNameFix(name, assigned, suggestion) };
  });
  const unlisted = free.length - problems.length;
  if (unlisted > 0) {
    const last = problems[problems.length - 1];
    problems[problems.length - 1] = { ...last, fix: `${last.fix}\n  (and ${unlisted} more undefined name${unlisted === 1 ? '' : 's'} after this one)` };
  }
  const [first, ...more] = problems;
  throw new ScriptValidationError(file, first.line, first.column, first.problem, first.fix, more);
}
