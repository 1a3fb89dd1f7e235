// The shape issue #14 leaves the doors in (src/app, src/action, src/cli) and what they share
// (src/service, src/policy): read from the source itself, so that a new violation fails here.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as acorn from 'acorn';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const DOORS = ['app', 'action', 'cli'];
const AREA = [...DOORS, 'service', 'policy'];

interface SourceFile {
  /** Relative to src/, e.g. app/worker.ts. */
  path: string;
  code: string;
  ast: acorn.Program;
}

function sources(folder: string): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|js)$/.test(name)) {
        const text = readFileSync(path, 'utf8');
        const code = name.endsWith('.ts') ? stripTypeScriptTypes(text) : text;
        files.push({ path: relative(SRC, path), code: text, ast: acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'module', locations: true }) });
      }
    }
  };
  if (existsSync(join(SRC, folder))) walk(join(SRC, folder));
  return files;
}

function visit(node: any, each: (node: any) => void): void {
  if (!node || typeof node.type !== 'string') return;
  each(node);
  for (const key in node) {
    const value = node[key];
    if (Array.isArray(value)) value.forEach((child) => visit(child, each));
    else if (value && typeof value.type === 'string') visit(value, each);
  }
}

/** The src/ folders a file imports from (type-only imports included: they are arrows too). */
function importedFolders(file: SourceFile): string[] {
  const folders: string[] = [];
  for (const match of file.code.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/gms)) {
    folders.push(relative(SRC, resolve(dirname(join(SRC, file.path)), match[1])).split('/')[0]);
  }
  return folders;
}

const area = AREA.flatMap((folder) => sources(folder));

test('no function in the doors, the service or the policy is over 80 lines', () => {
  const long: string[] = [];
  for (const file of area) {
    visit(file.ast, (node) => {
      if (!/Function/.test(node.type)) return;
      const lines = node.loc.end.line - node.loc.start.line + 1;
      if (lines > 80) long.push(`${file.path}:${node.loc.start.line} ${node.id?.name ?? ''} (${lines} lines)`);
    });
  }
  assert.deepEqual(long, []);
});

test('no door imports another, and neither the service nor the policy imports a door', () => {
  const arrows: string[] = [];
  for (const file of area) {
    const from = file.path.split('/')[0];
    for (const to of importedFolders(file)) {
      if (to !== from && DOORS.includes(to)) arrows.push(`${file.path} -> ${to}`);
    }
  }
  assert.deepEqual(arrows, []);
});

test('only the doors read process.env; FOREMAN_HOME has one rule and the version one source', () => {
  const readers = area.filter((file) => /process\.env\b/.test(file.code)).map((file) => file.path);
  assert.deepEqual(readers.filter((path) => !['app/run.ts', 'app/worker-run.ts', 'cli/run.ts', 'action/main.ts'].includes(path)), []);
  const homeRules = area.filter((file) => /\.FOREMAN_HOME\s*\|\|/.test(file.code)).map((file) => file.path);
  assert.deepEqual(homeRules, ['service/home.ts']);
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const pinned = area.filter((file) => file.code.includes(`'${version}'`)).map((file) => file.path);
  assert.deepEqual(pinned, [], 'the version is read from package.json (service/version.ts), not written down');
});

test('one claim loop, and one way to post a comment, in the doors', () => {
  const claims = area.filter((file) => /\.claim\(/.test(file.code)).map((file) => file.path);
  assert.deepEqual(claims, ['app/claim-loop.ts']);
  const posts = area.filter((file) => file.code.includes("'POST /repos/{owner}/{repo}/issues/{issue_number}/comments'")).map((file) => file.path);
  assert.deepEqual(posts, ['policy/comments.ts']);
});
