// The App's credentials, checked before `foreman app` serves anything: a key that does not parse
// is named at start (with the variable and the fix), not by an OpenSSL error on the first
// delivery. Values may come as `docker --env-file` passes a .env line: in double quotes, with
// `\n` escapes for the key's line breaks.
import { createPrivateKey } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadEnvFile } from './dotenv.ts';

export interface AppCredentials {
  appId: string;
  /** PKCS#8 PEM, whatever form it was given in. */
  privateKey: string;
  webhookSecret: string;
}

export type AppStart =
  | { state: 'ready'; env: NodeJS.ProcessEnv; webhookSecret: string }
  | { state: 'register'; env: NodeJS.ProcessEnv }
  | { state: 'bad'; problem: string };

/**
 * What `foreman app` starts with: `cwd/.env` under the environment (its own values win), and the
 * credentials checked, with PRIVATE_KEY replaced by the key as parsed; or the registration, when
 * there are none; or what is wrong. Says on `stderr` which file it read.
 */
export function readAppStart(cwd: string, env: NodeJS.ProcessEnv, stderr: NodeJS.WritableStream): AppStart {
  const loaded = loadEnvFile(cwd, env);
  if ('problem' in loaded) return { state: 'bad', problem: loaded.problem };
  if (loaded.file) {
    const shadowed = loaded.shadowed.length ? ` (the environment's own ${loaded.shadowed.join(', ')} win)` : '';
    stderr.write(`foreman app: read ${loaded.taken.join(', ') || 'no new variable'} from ${loaded.file}${shadowed}\n`);
  }
  if (loaded.exposedMode !== null) {
    stderr.write(`foreman app: warning: ${loaded.file} holds secrets and others can read it (mode ${loaded.exposedMode.toString(8)}): chmod 600 ${loaded.file}\n`);
  }
  const check = checkAppCredentials(loaded.env, cwd);
  if (check.state === 'bad') return check;
  if (check.state === 'ready') {
    return { state: 'ready', env: { ...loaded.env, PRIVATE_KEY: check.credentials.privateKey }, webhookSecret: check.credentials.webhookSecret };
  }
  // The image runs in production, where a .env written inside the container would be lost.
  if (env.NODE_ENV === 'production') {
    return {
      state: 'bad',
      problem: 'APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET are not set, and with NODE_ENV=production foreman app does not register an App: register it once outside production (README, "Register"), then pass those variables',
    };
  }
  return { state: 'register', env: loaded.env };
}

export type CredentialCheck =
  /** No App yet: nothing of APP_ID, PRIVATE_KEY, PRIVATE_KEY_PATH is set. */
  | { state: 'none' }
  | { state: 'ready'; credentials: AppCredentials }
  | { state: 'bad'; problem: string };

/** A PEM key file is a few kilobytes. */
const MAX_KEY_FILE_BYTES = 64 * 1024;
const KEY_FIX = 'the .pem file GitHub gave you (the App\'s settings, "Private keys"; generate a new one there if it is lost)';

function checkAppCredentials(env: NodeJS.ProcessEnv, cwd: string): CredentialCheck {
  const appId = unquote(env.APP_ID ?? '').trim();
  const keyText = unquote(env.PRIVATE_KEY ?? '').trim();
  const keyPath = unquote(env.PRIVATE_KEY_PATH ?? '').trim();
  if (!appId && !keyText && !keyPath) return { state: 'none' };
  if (!appId) {
    return { state: 'bad', problem: `${keyText ? 'PRIVATE_KEY' : 'PRIVATE_KEY_PATH'} is set but APP_ID is not: set APP_ID to the App's ID (its settings, "General", "App ID")` };
  }
  if (!/^\d{1,12}$/.test(appId)) {
    return { state: 'bad', problem: `APP_ID must be the App's numeric ID (its settings, "General", "App ID"), not "${appId.slice(0, 40)}"` };
  }
  if (!keyText && !keyPath) {
    return {
      state: 'bad',
      problem: `APP_ID is set but no private key is: set PRIVATE_KEY_PATH to ${KEY_FIX}, or PRIVATE_KEY to its contents; or unset APP_ID to register a new App`,
    };
  }
  const key = keyText ? readPrivateKey(keyText, 'PRIVATE_KEY') : readKeyFile(keyPath, cwd);
  if ('problem' in key) return { state: 'bad', problem: key.problem };
  const webhookSecret = unquote(env.WEBHOOK_SECRET ?? '');
  if (!webhookSecret) return { state: 'bad', problem: 'WEBHOOK_SECRET is not set: use the secret you gave the App on GitHub, so deliveries can be verified' };
  return { state: 'ready', credentials: { appId, privateKey: key.pem, webhookSecret } };
}

function readKeyFile(path: string, cwd: string): { pem: string } | { problem: string } {
  const file = resolve(cwd, path);
  let text: string;
  try {
    const fd = openSync(file, 'r');
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile() || stat.size > MAX_KEY_FILE_BYTES) {
        return { problem: `PRIVATE_KEY_PATH is ${file}, which is not a key file (${stat.isFile() ? `${stat.size} bytes` : 'not a file'}): set it to ${KEY_FIX}` };
      }
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: `PRIVATE_KEY_PATH is ${file}, which does not exist: set it to ${KEY_FIX}` };
    return { problem: `PRIVATE_KEY_PATH is ${file}, which cannot be read (${code ?? (error as Error).message}): let the user foreman app runs as read it` };
  }
  return readPrivateKey(text, `the file PRIVATE_KEY_PATH names (${file})`, 'PRIVATE_KEY_PATH');
}

/**
 * The key as PKCS#8 PEM, or what is wrong with it. Takes the forms a PEM takes on its way through
 * .env files and shells: surrounding quotes, `\n` escapes, one line with spaces for line breaks,
 * or base64 of the whole PEM (as Probot does).
 */
export function readPrivateKey(given: string, what: string, variable = 'PRIVATE_KEY'): { pem: string } | { problem: string } {
  let text = unquote(given.trim()).replace(/\\r\\n|\\n/g, '\n').replace(/\r\n/g, '\n').trim();
  if (!text.includes('-----BEGIN') && /^[A-Za-z0-9+/=\s]+$/.test(text)) {
    const decoded = Buffer.from(text, 'base64').toString('utf8');
    if (decoded.includes('-----BEGIN')) text = decoded.trim();
  }
  const fix = variable === 'PRIVATE_KEY' ? `set PRIVATE_KEY to the whole of ${KEY_FIX}, or PRIVATE_KEY_PATH to that file` : `set PRIVATE_KEY_PATH to ${KEY_FIX}`;
  const begin = /-----BEGIN ([A-Z ]+)-----/.exec(text);
  if (!begin) return { problem: `${what} is not a PEM private key (no "-----BEGIN … PRIVATE KEY-----" line): ${fix}` };
  if (!begin[1].endsWith('PRIVATE KEY')) return { problem: `${what} is a PEM ${begin[1].toLowerCase()}, not a private key: ${fix}` };
  if (!text.includes(`-----END ${begin[1]}-----`)) return { problem: `${what} stops before its "-----END ${begin[1]}-----" line, so it was cut off: ${fix}` };
  let key;
  try {
    key = createPrivateKey({ key: withLineBreaks(text, begin[1]), format: 'pem' });
  } catch (error) {
    const reason = (error as Error).message.includes('passphrase') ? 'it is encrypted' : `OpenSSL: ${(error as Error).message}`;
    return { problem: `${what} does not parse as a private key (${reason}): ${fix}` };
  }
  if (key.asymmetricKeyType !== 'rsa') return { problem: `${what} is an ${key.asymmetricKeyType} key, but GitHub Apps sign with RSA: ${fix}` };
  return { pem: key.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** A PEM pasted as one line, its line breaks turned to spaces, gets them back. */
function withLineBreaks(text: string, label: string): string {
  if (text.includes('\n')) return text;
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  const body = text.slice(text.indexOf(begin) + begin.length, text.indexOf(end)).replace(/\s+/g, '');
  return `${begin}\n${body.replace(/.{1,64}/g, '$&\n')}${end}\n`;
}

/** A value with the double or single quotes `docker --env-file` keeps from a .env line removed. */
function unquote(value: string): string {
  const quoted = /^(["'])([\s\S]*)\1$/.exec(value.trim());
  return quoted ? quoted[2] : value;
}
