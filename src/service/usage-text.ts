// The help of `foreman app` and `foreman worker`, in one place: those commands print it
// themselves (src/app), and the CLI's `foreman help app|worker` and command list show the same
// text (src/cli). Neither front door imports the other, so the text lives here, below both.

export interface CommandHelp {
  /** The usage line. */
  synopsis: string;
  /** One line for the CLI's list of commands. */
  summary: string;
  /** What `--help` adds under the usage line. */
  details: string;
}

export const APP_HELP: CommandHelp = {
  synopsis: 'foreman app [--port N] [--host H] [--no-worker] [--database-url URL] [--lease-seconds N]',
  summary: 'the GitHub App: webhooks, and a worker for its runs (README: Run the GitHub App)',
  details: `Serves GitHub webhooks at /api/github/webhooks (and /healthz) and forks a \`foreman worker\` that
executes the runs. Without APP_ID and a private key it registers the App instead and writes ./.env.
  --port N       where to listen (default PORT, else 3000)
  --host H       the address to listen on (default HOST, else 0.0.0.0)
  --no-worker    fork no worker: run \`foreman worker\` elsewhere, sharing FOREMAN_HOME (or the database)
  --database-url URL  keep the runs, the queue and the run registry in PostgreSQL (default
                 DATABASE_URL), shared by workers on other hosts; without it, the SQLite file in FOREMAN_HOME
  --lease-seconds N  with PostgreSQL: a worker that stops heartbeating loses its jobs after N seconds
                 (at least 10; default FOREMAN_LEASE_SECONDS, else 30)
Environment (./.env is read too; the environment's values win): APP_ID, PRIVATE_KEY or
PRIVATE_KEY_PATH, WEBHOOK_SECRET, ANTHROPIC_API_KEY, FOREMAN_HOME; WORKER_SECRET to serve tokens to
workers on other machines; GHE_HOST (and GHE_PROTOCOL) for GitHub Enterprise Server; GH_ORG=<org>
to register the App under that organization; LOG_LEVEL, LOG_FORMAT (pretty or json).`,
};

export const WORKER_HELP: CommandHelp = {
  synopsis: 'foreman worker [--max-runs N] [--database-url URL] [--lease-seconds N]',
  summary: "runs the App's queued runs next to `foreman app --no-worker`",
  details: `Executes the runs the GitHub App queued.
  --max-runs N   runs executed at once (default 2)
  --database-url URL  the app's PostgreSQL (default DATABASE_URL): runs, queue and registry are
                 there, and FOREMAN_HOME is this worker's own cache of clones; without it, FOREMAN_HOME's SQLite file
  --lease-seconds N  with PostgreSQL: how long a job outlives this worker's last heartbeat (at least
                 10; default FOREMAN_LEASE_SECONDS, else 30)
Environment: FOREMAN_HOME (shared with the app, unless DATABASE_URL), ANTHROPIC_API_KEY; when not forked by \`foreman app\`:
FOREMAN_APP_URL and WORKER_SECRET, to ask the app for installation tokens. GHE_HOST (and
GHE_PROTOCOL) for GitHub Enterprise Server. LOG_LEVEL (default info) and LOG_FORMAT (pretty or json)
as for the app; logs go to stdout.`,
};

/** `foreman <command> --help`: the usage line, then the details. */
export function helpText(help: Pick<CommandHelp, 'synopsis' | 'details'>): string {
  return `usage: ${help.synopsis}\n\n${help.details}`;
}
