// Which commands gate a change: `gate` in .github/foreman.yml, or what the project's files
// show (npm, pnpm, yarn, make, cargo, go, pytest).
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ForemanConfig } from '../../config/schema.ts';
import { isFile, parseJson, readText, type PackageJson } from './files.ts';

export class GateConfigError extends Error {}

export interface GatePlan {
  setup?: string;
  build?: string;
  test: string;
  /** 'config' when .github/foreman.yml has a gate section (its setup may still be detected). */
  source: 'config' | 'detected';
  /** What the project looked like: npm, pnpm, yarn, make, cargo, go, python; null if unknown. */
  ecosystem: string | null;
}

const CONFIG_EXAMPLE = `gate:
  setup: npm ci          # optional: installs dependencies
  build: npm run build   # optional
  test: npm test`;

interface Detected {
  ecosystem: string | null;
  setup?: string;
  build?: string;
  test?: string;
}

/**
 * The commands to gate the change in `dir` with. The config wins; without one, they are detected
 * from the files in `dir` (the change's worktree, so a change that adds a test script is gated
 * with it). A configured gate without `setup` still gets the detected dependency install.
 */
export async function planGate(dir: string, config: ForemanConfig['gate']): Promise<GatePlan> {
  const detected = await detect(dir);
  if (config) {
    const setup = config.setup ?? detected.setup;
    return { ...(setup ? { setup } : {}), ...(config.build ? { build: config.build } : {}), test: config.test, source: 'config', ecosystem: detected.ecosystem };
  }
  if (!detected.test) {
    throw new GateConfigError(
      `no test command found to gate changes with in ${dir}: looked for a "test" script in package.json (npm's placeholder "no test specified" does not count), a "test:" target in a Makefile, Cargo.toml, go.mod, and pytest (pytest.ini or conftest.py, pytest mentioned in pyproject.toml, setup.cfg or tox.ini, or tests/test_*.py). ` +
        `Set gate.test (and, if needed, gate.setup and gate.build) in .github/foreman.yml, for example:\n\n${CONFIG_EXAMPLE}\n`,
    );
  }
  const { setup, build, test, ecosystem } = detected;
  return { ...(setup ? { setup } : {}), ...(build ? { build } : {}), test, source: 'detected', ecosystem };
}

type PackageManager = 'npm' | 'pnpm' | 'yarn';

const LOCKFILES: Array<[file: string, pm: PackageManager]> = [
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
];

const FROZEN_INSTALL: Record<PackageManager, string> = {
  npm: 'npm ci',
  pnpm: 'pnpm install --frozen-lockfile',
  yarn: 'yarn install --frozen-lockfile',
};

async function detect(dir: string): Promise<Detected> {
  const node = await detectNode(dir);
  // A Node project without a test script may still be tested through make (or cargo, …); its
  // dependencies are installed all the same.
  const other = node?.test ? null : await detectOtherTest(dir);
  const setup = node?.setup;
  const build = node?.build ?? other?.build;
  const test = node?.test ?? other?.test;
  return { ecosystem: node?.ecosystem ?? other?.ecosystem ?? null, ...(setup ? { setup } : {}), ...(build ? { build } : {}), ...(test ? { test } : {}) };
}

async function detectNode(dir: string): Promise<{ ecosystem: PackageManager; setup?: string; build?: string; test?: string } | null> {
  const text = await readText(join(dir, 'package.json'));
  if (text === null) return null;
  // An unparseable package.json (the change may have broken it) still gets the Node commands,
  // so that the gate fails with the package manager's own error instead of planning nothing.
  const pkg = parseJson(text);
  const lockfiles = await presentLockfiles(dir);
  const declared = typeof pkg?.packageManager === 'string' ? /^(npm|pnpm|yarn)@/.exec(pkg.packageManager)?.[1] as PackageManager | undefined : undefined;
  const pm: PackageManager = declared ?? lockfiles[0]?.[1] ?? 'npm';
  const locked = lockfiles.some(([, lockPm]) => lockPm === pm);
  const setup = locked ? FROZEN_INSTALL[pm] : !pkg || hasDependencies(pkg) ? `${pm} install` : undefined;
  const scripts = pkg?.scripts ?? {};
  const build = typeof scripts.build === 'string' ? `${pm} run build` : undefined;
  const testScript = scripts.test;
  const test = !pkg || (typeof testScript === 'string' && !/no test specified/.test(testScript)) ? `${pm} test` : undefined;
  return { ecosystem: pm, ...(setup ? { setup } : {}), ...(build ? { build } : {}), ...(test ? { test } : {}) };
}

async function presentLockfiles(dir: string): Promise<Array<[string, PackageManager]>> {
  const present: Array<[string, PackageManager]> = [];
  for (const entry of LOCKFILES) if (await isFile(join(dir, entry[0]))) present.push(entry);
  return present;
}

function hasDependencies(pkg: PackageJson): boolean {
  return [pkg.dependencies, pkg.devDependencies, pkg.optionalDependencies, pkg.peerDependencies].some((deps) => deps && typeof deps === 'object' && Object.keys(deps).length > 0);
}

// `test:` alone or among other targets, as a rule (`:` or `::`), not a variable (`test := 1`).
const MAKE_TEST_TARGET = /^(?:[^\s:#=]+[ \t]+)*test(?:[ \t]+[^\s:#=]+)*[ \t]*::?(?!=)/m;

async function detectOtherTest(dir: string): Promise<{ ecosystem: string; build?: string; test: string } | null> {
  for (const name of ['GNUmakefile', 'makefile', 'Makefile']) {
    const text = await readText(join(dir, name));
    if (text !== null && MAKE_TEST_TARGET.test(text)) return { ecosystem: 'make', test: 'make test' };
  }
  if (await isFile(join(dir, 'Cargo.toml'))) return { ecosystem: 'cargo', build: 'cargo build', test: 'cargo test' };
  if (await isFile(join(dir, 'go.mod'))) return { ecosystem: 'go', build: 'go build ./...', test: 'go test ./...' };
  if (await usesPytest(dir)) return { ecosystem: 'python', test: 'python -m pytest' };
  return null;
}

async function usesPytest(dir: string): Promise<boolean> {
  if ((await isFile(join(dir, 'pytest.ini'))) || (await isFile(join(dir, 'conftest.py')))) return true;
  for (const name of ['pyproject.toml', 'setup.cfg', 'tox.ini']) {
    if ((await readText(join(dir, name)))?.includes('pytest')) return true;
  }
  const tests = await readdir(join(dir, 'tests'), { recursive: true }).catch(() => [] as string[]);
  return tests.some((path) => /^test_.*\.py$/.test(basename(path)));
}
