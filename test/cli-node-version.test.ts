// An older Node (20 is the default on many machines) gets one line saying what to install, from
// `foreman` and from `npm ci`, instead of a stack or pages of compiler errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN } from './support/cli.ts';
import { tempDir } from './support/repo.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A node older than 24 on this machine: the system's (/usr/bin/node) or one on PATH. */
function olderNode(): string | null {
  const candidates = ['/usr/bin/node', '/usr/local/bin/node', ...(process.env.PATH ?? '').split(':').map((dir) => join(dir, 'node'))];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    try {
      const major = Number(execFileSync(candidate, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim());
      if (major < 24) return candidate;
    } catch {
      // not runnable: try the next one
    }
  }
  return null;
}

const oldNode = olderNode();
const skip = oldNode ? false : 'no node older than 24 on this machine';

test('foreman on an older Node says in one line that it needs Node 24 and how to get it, exit 2', { skip }, () => {
  for (const args of [['run', 'audit', '--args', 'auth'], ['--help'], ['app']]) {
    const res = spawnSync(oldNode!, [BIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: tempDir() } });
    assert.equal(res.status, 2, res.stderr);
    assert.equal(res.stdout, '');
    const lines = res.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, res.stderr);
    assert.match(lines[0], /^foreman: Foreman needs Node 24 or newer, and this is Node \d+\.\d+\.\d+: install Node 24 .*nvm install 24/);
    assert.doesNotMatch(res.stderr, /ERR_UNKNOWN_FILE_EXTENSION/);
  }
});

test('npm ci on an older Node stops at the engine check (engine-strict) instead of building native addons', { skip }, () => {
  assert.match(readFileSync(join(ROOT, '.npmrc'), 'utf8'), /^engine-strict=true$/m);
  // The npm that ships with that node, run by it, as `npm ci` would be on such a machine.
  const npmCli = join(dirname(dirname(realpathSync(oldNode!))), 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  if (!existsSync(npmCli)) return;
  const dir = tempDir('foreman-npmrc-');
  for (const file of ['package.json', 'package-lock.json', '.npmrc']) copyFileSync(join(ROOT, file), join(dir, file));
  const res = spawnSync(oldNode!, [npmCli, 'ci', '--dry-run', '--ignore-scripts', '--offline'], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: dir, npm_config_cache: join(dir, '.npm') },
    timeout: 60_000,
  });
  assert.notEqual(res.status, 0);
  assert.match(res.stderr, /EBADENGINE/);
  assert.match(res.stderr, /Required: \{"node":">=24"\}/);
});
