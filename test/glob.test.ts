// The one glob matcher for hostile globs (src/workspace/glob.ts): it reads ordinary globs as
// path.matchesGlob does, and bounds what a glob may cost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesGlob } from 'node:path';
import { compileGlob, GlobError, MAX_GLOB_ALTERNATIVES, MAX_GLOB_CHARS } from '../src/workspace/glob.ts';

const CASES: Array<[path: string, glob: string]> = [
  ['.env', '*'], ['a/.env', '**/*'], ['a/.env', 'a/*'], ['.github/x.yml', '**/*.yml'], ['.github/x', '**/.github/x'], ['.github/x', '.github/*'],
  ['src/a.ts', 'src/**/*.ts'], ['src/a/b.ts', 'src/**/*.ts'], ['a.ts', '**/*.ts'], ['a/b/c/d.ts', 'a/**/**/d.ts'], ['.ts', '*.ts'],
  ['a/b', 'a/**'], ['a', 'a/**'], ['feature/x', '**'], ['.x/y', '**'], ['.x/y', '**/y'], ['a/.x/y', 'a/**/y'],
  ['abc', 'a?c'], ['a/c', 'a?c'], ['a/b', 'a*b'], ['a/b/c', 'a/*/c'], ['release/1.2', 'release/*'], ['release/1/2', 'release/*'], ['release/1/2', 'release/**'],
  ['a.ts', '*.{ts,js}'], ['a1', 'a{1..3}'], ['a4', 'a{1..3}'], ['a', '{a}'], ['{a}', '{a}'], ['a', '{a,}'], ['ab', 'a{,b}'], ['a', 'a{,b}'], ['ab', '{a,{b,c}}b'],
  ['a.b', '[a-c].b'], ['a.b', '[!a].b'], ['b.b', '[^a].b'], ['a', '[[:alpha:]]'], ['x-y', 'x[a-]y'], ['a]', 'a]'], ['a[', 'a['],
  ['A', 'a'], ['a//b', 'a/b'], ['a/b/', 'a/b'], ['main', 'main'], ['mainx', 'main'],
];

test('ordinary globs match as path.matchesGlob matches them', () => {
  for (const [path, glob] of CASES) assert.equal(compileGlob(glob)(path), matchesGlob(path, glob), `${JSON.stringify(path)} against ${JSON.stringify(glob)}`);
});

test('a star bomb is matched in time linear in the name', () => {
  const matches = compileGlob(`${'*a'.repeat(30)}b`);
  const startedAt = performance.now();
  for (let i = 0; i < 100; i++) assert.equal(matches(`${'a'.repeat(60)}${i}`), false);
  assert.ok(performance.now() - startedAt < 1_000);
  assert.equal(matches(`${'a'.repeat(30)}b`), true);
});

test('globs past a bound are refused with an error naming the bound and the fix', () => {
  assert.throws(() => compileGlob('{a,b}'.repeat(17)), (error) => error instanceof GlobError && error.message.includes(`at most ${MAX_GLOB_ALTERNATIVES}: use fewer groups`));
  assert.throws(() => compileGlob('{1..100000}'), new RegExp(`at most ${MAX_GLOB_ALTERNATIVES}`));
  assert.throws(() => compileGlob('a'.repeat(MAX_GLOB_CHARS + 1)), new RegExp(`at most ${MAX_GLOB_CHARS}: shorten it`));
  assert.throws(() => compileGlob(`{${'x'.repeat(30)},${'y'.repeat(30)}}`.repeat(5)), /needs more than 1000 states/);
  assert.throws(() => compileGlob('+(a|b)'), /extended pattern "\+\(…\)", which is not supported: write alternatives as \{a,b\}/);
});
