// One logger for every part of the App (webhook server, intake thread, worker), made the way Probot
// makes its own: pino, readable text unless LOG_FORMAT=json, at LOG_LEVEL, on stdout. Probot is
// handed this logger too, so its lines and Foreman's look the same.
import { pino, type Logger as PinoLogger } from 'pino';
import { prettyFactory } from 'pino-pretty';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LOG_FORMATS = ['pretty', 'json'] as const;

export interface LogSettings {
  level: (typeof LOG_LEVELS)[number];
  format: (typeof LOG_FORMATS)[number];
}

/** LOG_LEVEL (default info) and LOG_FORMAT (default pretty) as Probot reads them; throws a message that says what each takes. */
export function readLogSettings(env: NodeJS.ProcessEnv): LogSettings {
  const level = env.LOG_LEVEL || 'info';
  const format = env.LOG_FORMAT || 'pretty';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(level)}`);
  if (!(LOG_FORMATS as readonly string[]).includes(format)) throw new Error(`LOG_FORMAT must be pretty or json; got ${JSON.stringify(format)}`);
  return { level: level as LogSettings['level'], format: format as LogSettings['format'] };
}

/** A logger whose lines carry `name` (Probot's own are `probot`). */
export function appLog(settings: LogSettings, name: string): PinoLogger {
  // Synchronous writes: a process that exits (or a thread that is ended) loses no lines.
  const out = pino.destination({ dest: 1, sync: true });
  if (settings.format === 'json') return pino({ name, level: settings.level }, out);
  // Probot's text with the local time first (as pino-pretty's translateTime gives it), no pid or host.
  const pretty = prettyFactory({ ignore: 'pid,hostname', translateTime: 'SYS:standard' });
  return pino({ name, level: settings.level }, { write: (line: string) => out.write(pretty(line)) });
}
