// The import rules of docs/architecture.md, checked over src/'s TypeScript imports.
// `node scripts/check-architecture.ts` lists each violation and exits 1 on one the baseline below
// does not name; test/architecture.test.ts runs the same check, so a new upward arrow, cycle,
// environment reader or long function fails the suite instead of waiting for a reviewer.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripTypeScriptTypes } from 'node:module';
import * as acorn from 'acorn';

/** The doors: the only folders that read the environment, and none may import another. */
export const DOORS = ['app', 'action', 'cli'];
/** Folders at the bottom: they import nothing of Foreman's (src/text: plain string helpers). */
export const LEAVES = ['contracts', 'text'];
/** Configuration: below everything that reads it, so it may import only the leaves and the runtime. */
export const CONFIG_MAY_IMPORT = [...LEAVES, 'runtime'];
export const MAX_FUNCTION_LINES = 80;

// Violations still on main, one per entry. An entry that no longer occurs fails the check too, so
// the list only shrinks: delete an entry when it is fixed. Never add one to let a new violation in.
export const BASELINE: readonly string[] = [];

interface SourceFile { path: string; ast: acorn.Program; code: string }

/** `import type` and `export type {…} from` are dependencies too (a type-only arrow upward is
 *  still an arrow upward), but type stripping deletes them: turn them into plain imports first.
 *  The keyword is blanked with spaces so columns and lines stay where they were. */
function keepTypeImports(source: string): string {
  return source
    .replace(/^(\s*)import type\b/gm, '$1import     ')
    .replace(/^(\s*)export type(\s*\{[^}]*\}\s*from\b)/gm, '$1export     $2');
}

function parse(path: string): SourceFile {
  const source = readFileSync(path, 'utf8');
  const code = path.endsWith('.ts') ? stripTypeScriptTypes(keepTypeImports(source)) : source;
  const ast = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'module', locations: true, allowReturnOutsideFunction: true });
  return { path, ast, code };
}

function listSources(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...listSources(path));
    else if (/\.(ts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

type Node = acorn.AnyNode & Record<string, unknown>;

function children(node: Node): Node[] {
  const out: Node[] = [];
  for (const key of Object.keys(node)) {
    const value = node[key];
    if (Array.isArray(value)) { for (const v of value) if (v && typeof v.type === 'string') out.push(v); }
    else if (value && typeof value === 'object' && typeof (value as Node).type === 'string') out.push(value as Node);
  }
  return out;
}

function functionName(node: Node, parent: Node | undefined): string {
  const id = node.id as { name?: string } | null | undefined;
  if (id?.name) return id.name;
  if (parent?.type === 'VariableDeclarator' && (parent.id as Node).type === 'Identifier') return (parent.id as { name: string }).name;
  if ((parent?.type === 'MethodDefinition' || parent?.type === 'Property' || parent?.type === 'PropertyDefinition')) {
    const key = parent.key as { name?: string; value?: unknown };
    if (key.name ?? key.value) return String(key.name ?? key.value);
  }
  return '(anonymous)';
}

interface Facts { imports: string[]; readsEnv: boolean; longFunctions: string[] }

function factsOf(file: SourceFile): Facts {
  const facts: Facts = { imports: [], readsEnv: false, longFunctions: [] };
  const addImport = (source: unknown) => {
    if (typeof source === 'string' && source.startsWith('.')) facts.imports.push(resolve(dirname(file.path), source));
  };
  const visit = (node: Node, parent: Node | undefined, names: string[]) => {
    let inner = names;
    if (node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression') {
      inner = [...names, functionName(node, parent)];
      const lines = node.loc!.end.line - node.loc!.start.line + 1;
      if (lines > MAX_FUNCTION_LINES) facts.longFunctions.push(inner.join(' > '));
    }
    if (node.type === 'ImportDeclaration' || node.type === 'ExportAllDeclaration' || node.type === 'ExportNamedDeclaration') {
      addImport((node.source as { value?: unknown } | null)?.value);
    }
    if (node.type === 'ImportExpression') addImport((node.source as { value?: unknown }).value);
    if (node.type === 'MemberExpression' && (node.object as Node).type === 'Identifier'
      && (node.object as { name: string }).name === 'process' && propertyName(node) === 'env') facts.readsEnv = true;
    for (const child of children(node)) visit(child, node, inner);
  };
  visit(file.ast as Node, undefined, []);
  return facts;
}

function propertyName(node: Node): string | undefined {
  const property = node.property as { type: string; name?: string; value?: unknown };
  if (!node.computed && property.type === 'Identifier') return property.name;
  return property.type === 'Literal' ? String(property.value) : undefined;
}

/** `@generated` in a file's first lines marks code a tool wrote; its function lengths are not ours. */
function isGenerated(file: SourceFile): boolean {
  return /@generated\b/.test(readFileSync(file.path, 'utf8').split('\n', 5).join('\n'));
}

/** Strongly connected components of more than one file (or a file importing itself): each is one
 *  cycle, named by its sorted members so the name does not depend on where the search started. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), found: string[][] = [];
  let next = 0;
  const connect = (v: string) => {
    index.set(v, next); low.set(v, next); next += 1;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) { connect(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  return found;
}

/** Every violation of the rules in `srcRoot`, one stable string each (no line numbers, so an
 *  unrelated edit above a long function does not turn a baseline entry into a new violation). */
export function findViolations(srcRoot: string): string[] {
  const root = resolve(srcRoot);
  const name = (path: string) => relative(root, path).split(sep).join('/');
  const folderOf = (rel: string) => (rel.includes('/') ? rel.split('/')[0] : '.');
  const violations: string[] = [];
  const graph = new Map<string, string[]>();
  for (const path of listSources(root)) {
    const file = parse(path);
    const from = name(path);
    const facts = factsOf(file);
    const fromFolder = folderOf(from);
    const targets = facts.imports.filter((target) => !relative(root, target).startsWith('..')).map(name);
    graph.set(from, targets);
    for (const to of new Set(targets)) {
      const toFolder = folderOf(to);
      if (toFolder === fromFolder) continue;
      if (LEAVES.includes(fromFolder)) violations.push(`${fromFolder} imports Foreman: ${from} -> ${to}`);
      if (fromFolder === 'config' && !CONFIG_MAY_IMPORT.includes(toFolder)) violations.push(`config imports above itself: ${from} -> ${to}`);
      if (fromFolder === 'runtime' && toFolder !== 'contracts') violations.push(`runtime imports beyond contracts: ${from} -> ${to}`);
      if (DOORS.includes(fromFolder) && DOORS.includes(toFolder)) violations.push(`door imports door: ${from} -> ${to}`);
    }
    if (facts.readsEnv && !DOORS.includes(fromFolder)) violations.push(`process.env below the doors: ${from}`);
    if (!isGenerated(file)) for (const fn of new Set(facts.longFunctions)) violations.push(`long function: ${from} ${fn}`);
  }
  for (const component of cycles(graph)) violations.push(`import cycle: ${component.join(' <-> ')}`);
  const folders = new Map<string, string[]>();
  for (const [from, targets] of graph) {
    const edges = folders.get(folderOf(from)) ?? [];
    for (const to of targets) if (folderOf(to) !== folderOf(from)) edges.push(folderOf(to));
    folders.set(folderOf(from), edges);
  }
  // One entry per folder arrow inside a circle rather than one per circle: removing one arrow
  // then shows as that entry fixed, not as a new, smaller circle.
  for (const component of cycles(folders)) {
    for (const from of component) {
      for (const to of new Set(folders.get(from))) if (component.includes(to)) violations.push(`folder arrow in a cycle: ${from} -> ${to}`);
    }
  }
  return violations;
}

export interface ArchitectureReport { added: string[]; fixed: string[]; all: string[] }

export function checkArchitecture(srcRoot: string, baseline: readonly string[] = BASELINE): ArchitectureReport {
  const all = findViolations(srcRoot);
  const known = new Set(baseline);
  const current = new Set(all);
  return { all, added: all.filter((v) => !known.has(v)), fixed: baseline.filter((v) => !current.has(v)) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const srcRoot = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const { added, fixed, all } = checkArchitecture(srcRoot);
  for (const v of all) console.log(`${added.includes(v) ? 'NEW  ' : 'known'} ${v}`);
  for (const v of fixed) console.log(`fixed ${v} (delete it from BASELINE in scripts/check-architecture.ts)`);
  if (added.length > 0 || fixed.length > 0) process.exitCode = 1;
}
