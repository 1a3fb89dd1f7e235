// The `.env` file of the directory `foreman app` starts in. The registration writes the App's
// credentials there and every later start reads them back, so registering is done once. Values
// set in the real environment win over the file's, as with `node --env-file`.
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';

export const ENV_FILE_NAME = '.env';
/** A .env holds a few lines; anything this big is not one. */
const MAX_ENV_FILE_BYTES = 1024 * 1024;
/** What makes a readable-by-others .env worth a warning. */
const SECRET_NAMES = ['PRIVATE_KEY', 'WEBHOOK_SECRET', 'WORKER_SECRET', 'ANTHROPIC_API_KEY', 'GITHUB_CLIENT_SECRET'];

export interface LoadedEnvFile {
  env: NodeJS.ProcessEnv;
  /** The file read, or null when the directory has none. */
  file: string | null;
  /** The names taken from the file. */
  taken: string[];
  /** The names the file sets that the environment already had: the environment's values stand. */
  shadowed: string[];
  /** The file's permission bits when it holds secrets and others than its owner may read it. */
  exposedMode: number | null;
}

/** The environment with `dir/.env` under it, or the problem with the file. */
export function loadEnvFile(dir: string, env: NodeJS.ProcessEnv): LoadedEnvFile | { problem: string } {
  const file = join(dir, ENV_FILE_NAME);
  let text: string;
  let mode: number;
  try {
    const fd = openSync(file, 'r');
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) return { problem: `${file} is not a file: remove it, or start foreman app in another directory` };
      if (stat.size > MAX_ENV_FILE_BYTES) return { problem: `${file} is ${stat.size} bytes, more than a .env holds (${MAX_ENV_FILE_BYTES}): is it the right file?` };
      mode = stat.mode & 0o777;
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { env, file: null, taken: [], shadowed: [], exposedMode: null };
    if (code === 'EISDIR') return { problem: `${file} is not a file: remove it, or start foreman app in another directory` };
    return { problem: `${file} cannot be read (${code ?? (error as Error).message}): let the user foreman app runs as read it, or move it away` };
  }
  const values = parseEnv(text);
  const taken = Object.keys(values).filter((name) => env[name] === undefined);
  const shadowed = Object.keys(values).filter((name) => env[name] !== undefined);
  const holdsSecrets = Object.keys(values).some((name) => SECRET_NAMES.includes(name));
  return {
    env: { ...Object.fromEntries(taken.map((name) => [name, values[name]])), ...env },
    file,
    taken,
    shadowed,
    exposedMode: holdsSecrets && mode & 0o077 ? mode : null,
  };
}

/**
 * Adds `values` after what `dir/.env` already holds (a later line wins for every reader) and
 * leaves the file readable by its owner only. Written beside and renamed over the old file, so a
 * crash leaves the old one whole and the secrets are never readable by others, not even briefly.
 */
export function appendToEnvFile(dir: string, values: Record<string, string>, comment: string): string {
  const file = join(dir, ENV_FILE_NAME);
  let before = '';
  try {
    before = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // One comment line, whatever the App's name holds: no line break could start a variable.
  const lines = [`# ${comment.replace(/[^\x20-\x7e]/g, ' ')}`, ...Object.entries(values).map(([name, value]) => envLine(name, value))];
  const text = `${before}${before && !before.endsWith('\n') ? '\n' : ''}${before ? '\n' : ''}${lines.join('\n')}\n`;
  const temporary = join(dir, `.env.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  return file;
}

/**
 * One `NAME=value` line that Node's parseEnv, a shell's `.` and `docker --env-file` all read:
 * a value with line breaks goes in double quotes with `\n` escapes (docker keeps the quotes and
 * the escapes, which Foreman's credential check removes).
 */
function envLine(name: string, value: string): string {
  if (/["'`$\\\r\0]/.test(value)) throw new Error(`${name} holds a character a .env line cannot carry safely`);
  if (/^[\w.:/+=@-]*$/.test(value)) return `${name}=${value}`;
  return `${name}="${value.replace(/\n/g, '\\n')}"`;
}
