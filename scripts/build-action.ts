// Builds the Action's committed bundle in dist/: the entry GitHub runs, one (minified) bundle of
// the Action, one of the journal's writer thread and one of the schema thread, the files they read
// at run time, and two dependencies as packages beside them: isolated-vm with its prebuilt Linux
// binaries for Node 24 (it cannot be bundled), and undici, whose inlined HTTP parsers are half the
// bundle's size (so that no committed file is over 2 MB).
// `npm run build`; test/action-bundle.test.ts fails when dist/ is not what this writes.
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Node 24's module ABI: the prebuilt binaries the runners' node24 can load. */
const NODE_ABI = 'abi137';

export async function buildAction(out = join(ROOT, 'dist')): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: {
      main: join(ROOT, 'src/action/run.ts'),
      'sqlite-writer-thread': join(ROOT, 'src/runtime/sqlite-writer-thread.ts'),
      'schema-thread': join(ROOT, 'src/agents/schema-thread.ts'),
    },
    outdir: out,
    // Source paths in the bundle's comments are relative to this, whatever directory the build runs from.
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    external: ['isolated-vm', 'undici'],
    minify: true,
    // Readable names in a stack trace from a user's run.
    keepNames: true,
    legalComments: 'none',
    logLevel: 'warning',
    // Some dependencies are CommonJS and call require(): give the ESM bundle one.
    banner: { js: "import { createRequire as __foremanRequire } from 'node:module'; const require = __foremanRequire(import.meta.url);" },
  });
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module', private: true }, null, 2) + '\n');
  writeFileSync(
    join(out, 'index.js'),
    [
      '// GitHub runs `node dist/index.js`. isolated-vm needs --no-node-snapshot, which only a new',
      '// process can be given: run the Action in one, with the same environment and output.',
      "import { spawn } from 'node:child_process';",
      "import { fileURLToPath } from 'node:url';",
      "const child = spawn(process.execPath, ['--no-node-snapshot', fileURLToPath(new URL('./main.js', import.meta.url))], { stdio: 'inherit' });",
      "for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));",
      "child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));",
      '',
    ].join('\n'),
  );
  // What the bundle reads next to itself at run time.
  cpSync(join(ROOT, 'src/runtime/sandbox-prelude.js'), join(out, 'sandbox-prelude.js'));
  cpSync(join(ROOT, 'src/workflows/authoring-reference.md'), join(out, 'authoring-reference.md'));
  cpSync(join(ROOT, 'workflows'), join(out, 'workflows'), { recursive: true });
  // isolated-vm and node-gyp-build (which picks the binary), binaries for Linux only.
  const ivm = join(ROOT, 'node_modules/isolated-vm');
  const ivmOut = join(out, 'node_modules/isolated-vm');
  for (const file of ['package.json', 'isolated-vm.js', 'LICENSE']) cpSync(join(ivm, file), join(ivmOut, file));
  for (const platform of ['linux-x64', 'linux-arm64']) {
    for (const binary of readdirSync(join(ivm, 'prebuilds', platform)).filter((name) => name.includes(`.${NODE_ABI}.`))) {
      cpSync(join(ivm, 'prebuilds', platform, binary), join(ivmOut, 'prebuilds', platform, binary));
    }
  }
  cpSync(join(ROOT, 'node_modules/node-gyp-build'), join(out, 'node_modules/node-gyp-build'), { recursive: true });
  // undici's code only: its docs and type declarations are not loaded.
  const undici = join(ROOT, 'node_modules/undici');
  for (const entry of ['package.json', 'LICENSE', 'index.js', 'lib']) cpSync(join(undici, entry), join(out, 'node_modules/undici', entry), { recursive: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildAction(process.argv[2]);
