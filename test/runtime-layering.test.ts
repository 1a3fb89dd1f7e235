// The core's shape (#14): contracts/ imports nothing of Foreman's, runtime/ imports only
// contracts/, and no function in either is over 80 lines. Read from the sources, so a new
// violation fails here rather than in review.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as acorn from 'acorn';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const MAX_FUNCTION_LINES = 80;

const sourcesOf = (folder: string): string[] =>
  readdirSync(join(SRC, folder))
    .filter((name) => /\.(ts|js)$/.test(name))
    .map((name) => join(SRC, folder, name));

/** The Foreman folders (under src/) a file imports from, its own included. */
function importedFolders(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)].map((match) => match[1]!);
  return specifiers
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(SRC, resolve(dirname(file), specifier)).split('/')[0]!);
}

function longFunctions(file: string): string[] {
  const raw = readFileSync(file, 'utf8');
  // Stripping types keeps every line where it was.
  const code = file.endsWith('.ts') ? stripTypeScriptTypes(raw) : raw;
  const found: string[] = [];
  const visit = (node: acorn.Node & Record<string, unknown>): void => {
    if (/Function/.test(node.type) && node.loc) {
      const lines = node.loc.end.line - node.loc.start.line + 1;
      if (lines > MAX_FUNCTION_LINES) found.push(`${relative(SRC, file)}:${node.loc.start.line} (${lines} lines)`);
    }
    for (const value of Object.values(node)) {
      const children = Array.isArray(value) ? value : [value];
      for (const child of children) if (child && typeof child === 'object' && typeof (child as acorn.Node).type === 'string') visit(child as acorn.Node & Record<string, unknown>);
    }
  };
  const program = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'module', locations: true, allowReturnOutsideFunction: true });
  visit(program as unknown as acorn.Node & Record<string, unknown>);
  return found;
}

test('contracts/ imports nothing of Foreman outside itself', () => {
  const outside = sourcesOf('contracts').flatMap((file) => importedFolders(file).filter((folder) => folder !== 'contracts').map((folder) => `${relative(SRC, file)} -> ${folder}`));
  assert.ok(sourcesOf('contracts').length > 0, 'src/contracts holds the ports, events, errors and the host-call protocol');
  assert.deepEqual(outside, []);
});

test('runtime/ imports only contracts/ (and node or npm packages)', () => {
  const outside = sourcesOf('runtime').flatMap((file) => importedFolders(file).filter((folder) => folder !== 'runtime' && folder !== 'contracts').map((folder) => `${relative(SRC, file)} -> ${folder}`));
  assert.deepEqual(outside, []);
});

test('no function in runtime/ or contracts/ is over 80 lines', () => {
  const long = [...sourcesOf('runtime'), ...sourcesOf('contracts')].flatMap(longFunctions);
  assert.deepEqual(long, []);
});
