// A DATABASE_URL as Foreman shows and checks it: never with its password, and a connection that
// fails says which setting to fix.
const SETTING = 'DATABASE_URL (or --database-url)';

/** The URL with its password replaced, for messages and logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL: show none of it, in case it holds a secret.
    return '(not shown)';
  }
}

/** Refuses what is not a PostgreSQL URL, before anything connects. */
export function checkDatabaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${SETTING} is not a URL: give a PostgreSQL connection URL such as postgres://user:password@host:5432/foreman, or leave it unset for the embedded SQLite store`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(`${SETTING} must be a postgres:// or postgresql:// URL, got ${parsed.protocol}// (${redactedUrl(url)}): Foreman's shared store is PostgreSQL; leave it unset for the embedded SQLite store`);
  }
  return url;
}

/** An error opening the database, as one that names the setting and the fix, without the password. */
export function databaseOpenError(error: unknown, url: string): Error {
  const reason = error instanceof Error ? error.message : String(error);
  const password = safePassword(url);
  const said = password ? reason.replaceAll(password, '***') : reason;
  return new Error(`cannot open the PostgreSQL database at ${redactedUrl(url)} (${SETTING}): ${said}. Check that the server is running and reachable, and that the URL's user, password and database are right; or leave ${SETTING} unset for the embedded SQLite store`, { cause: error });
}

function safePassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

/** Opens what `open` opens on a checked URL, its failure told as databaseOpenError. */
export async function openDatabase<T>(url: string, open: (url: string) => Promise<T>): Promise<T> {
  checkDatabaseUrl(url);
  try {
    return await open(url);
  } catch (error) {
    throw databaseOpenError(error, url);
  }
}
