// A private PostgreSQL cluster for one test file: initdb into a temp directory, owned by a non-root
// user (PostgreSQL refuses to run as root), listening only on 127.0.0.1 on a free port, with its
// unix socket inside the temp directory. Each test then takes a fresh database from it.
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { tempDir } from './repo.ts';

const run = promisify(execFile);

export interface PostgresCluster {
  /** The cluster's maintenance database, as the superuser `postgres`. */
  databaseUrl: string;
  /** A new, empty database in the cluster; its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

const NOT_INSTALLED =
  'PostgreSQL is not installed: no initdb under `pg_config --bindir` or /usr/lib/postgresql/*/bin. ' +
  'Install the Debian package postgresql (apt-get install postgresql), as .ci/run does.';

/** Where initdb, pg_ctl and postgres are: pg_config's answer, else Debian's newest version. */
export function postgresBinDir(): string {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    // No pg_config (it comes with libpq-dev, not with the server): look where Debian puts servers.
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error(NOT_INSTALLED);
  return join(root, versions[0]!, 'bin');
}

/** PostgreSQL will not run as root: as root, run its tools as the `postgres` OS user. */
function asServerUser(): { wrap: (command: string, args: string[]) => [string, string[]]; owner: { uid: number; gid: number } | null } {
  if (process.getuid?.() !== 0) return { wrap: (command, args) => [command, args], owner: null };
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  const owner = { uid: id('-u'), gid: id('-g') };
  return { wrap: (command, args) => ['runuser', ['-u', 'postgres', '--', command, ...args]], owner };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const { wrap, owner } = asServerUser();
  const dir = tempDir('foreman-pg-');
  const data = join(dir, 'data');
  const sockets = join(dir, 'sockets');
  mkdirSync(sockets);
  if (owner) for (const path of [dir, sockets]) chownSync(path, owner.uid, owner.gid);
  const tool = (name: string, args: string[]) => {
    const [command, argv] = wrap(join(bin, name), args);
    return run(command, argv, { cwd: dir });
  };
  // Throwaway data: no fsync, which makes initdb and CREATE DATABASE several times faster.
  await tool('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${sockets} -c fsync=off -c full_page_writes=off`;
    try {
      await tool('pg_ctl', ['start', '-w', '-s', '-D', data, '-l', join(dir, 'server.log'), '-o', options]);
      break;
    } catch (error) {
      // Another process may have taken the port between the probe and the start.
      if (attempt === 2) throw new Error(`the test PostgreSQL cluster did not start; see ${join(dir, 'server.log')}: ${(error as Error).message}`);
    }
  }
  const stopNow = () => {
    const [command, argv] = wrap(join(bin, 'pg_ctl'), ['stop', '-s', '-m', 'immediate', '-D', data]);
    try {
      execFileSync(command, argv, { cwd: dir, stdio: 'ignore' });
    } catch {
      // Already stopped.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A test file that crashes or is cancelled (the runner's SIGTERM, a ^C) must not leave a server
  // behind; after stopping it, the signal does what it would have done.
  const onSignal = (signal: NodeJS.Signals) => {
    stopNow();
    process.kill(process.pid, signal);
  };
  process.once('exit', stopNow);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const databaseUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let databases = 0;
  return {
    databaseUrl,
    async createDatabase() {
      const name = `test_${++databases}`;
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      process.removeListener('exit', stopNow);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      stopNow();
    },
  };
}
