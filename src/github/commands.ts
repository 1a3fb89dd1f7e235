// `/workflow …` comment commands (DESIGN §5): what the first line of an issue or pull request
// comment asks for. Pure parsing; who may ask, and what happens, is the front door's business.
import { ArgsTextError, parseArgsText } from '../contracts/script-args.ts';
import { inlineCode } from '../report/backtick-runs.ts';
import { sanitizeCommentText } from './sanitize.ts';

export type WorkflowCommand =
  /** `ref` is a workflow name, or free text when it names none; `text` is the whole request. */
  | { kind: 'run'; ref: string; args: unknown; text: string }
  | { kind: 'approve' | 'stop'; runId: string | null }
  /** `args`: new args for the run (`/workflow resume <run> <args>`), wrapped so that null is args too. */
  | { kind: 'resume'; runId: string | null; args?: { value: unknown } }
  | { kind: 'status' | 'list' | 'help' }
  | { kind: 'save'; name: string; runId: string | null }
  | { kind: 'invalid'; problem: string };

const PREFIX = /^\/workflow(?=\s|$)/;
const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const WORKFLOW_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_REQUEST_CHARS = 4_000;

/** The command in a comment, or null when its first line is not a `/workflow` command. */
export function parseWorkflowCommand(body: string): WorkflowCommand | null {
  // The cheapest checks first: most comments are not commands, and a long one is refused before
  // any work is spent on its markup.
  const text = body.startsWith('\uFEFF') ? body.slice(1) : body;
  const newline = text.indexOf('\n');
  const firstLine = (newline === -1 ? text : text.slice(0, newline)).trim();
  if (!PREFIX.test(firstLine)) return null;
  const raw = firstLine.slice('/workflow'.length);
  if (raw.length > MAX_REQUEST_CHARS) return tooLong(raw.length);
  const rest = sanitizeCommentText(raw);
  if (rest === '') return { kind: 'help' };
  // Normalising can lengthen text (one ligature is up to 18 characters).
  if (rest.length > MAX_REQUEST_CHARS) return tooLong(rest.length);
  const word = rest.split(/\s/, 1)[0];
  const tail = rest.slice(word.length).trim();
  const more = tail === '' ? [] : tail.split(/\s+/);
  switch (word) {
    case 'help':
    case 'status':
    case 'list':
      return more.length === 0 ? { kind: word } : { kind: 'invalid', problem: `\`/workflow ${word}\` takes nothing after it` };
    case 'approve':
    case 'stop':
      return runIdCommand(word, more);
    case 'resume':
      if (more.length > 1 && RUN_ID.test(more[0]!)) return withCommentArgs(tail.slice(more[0]!.length).trim(), (args) => ({ kind: 'resume', runId: more[0]!, args: { value: args } }));
      return runIdCommand(word, more);
    case 'save': {
      const [name, runId, ...extra] = more;
      if (!name || !WORKFLOW_NAME.test(name) || extra.length > 0 || (runId !== undefined && !RUN_ID.test(runId))) {
        return { kind: 'invalid', problem: 'use `/workflow save <name> [run]`: a name of letters, digits, dots, dashes or underscores, then optionally the run id' };
      }
      return { kind: 'save', name, runId: runId ?? null };
    }
    default:
      return withCommentArgs(tail, (args) => ({ kind: 'run', ref: word, args, text: rest }), FREE_TEXT_HINT);
  }
}

// Text after a word that starts with { or [ is args by the one rule of every door, so a request in
// words that happens to start so ("fix [P1] the login loop") is refused: say how to ask it.
const FREE_TEXT_HINT = ' If this is a request in words, not args, begin it with a word rather than `{` or `[`, e.g. `/workflow fix the [P1] login loop`.';

function tooLong(length: number): WorkflowCommand {
  return { kind: 'invalid', problem: `the request is ${length} characters long; keep it under ${MAX_REQUEST_CHARS}, or save the workflow in .claude/workflows/ and run it by name` };
}

function runIdCommand(kind: 'approve' | 'stop' | 'resume', more: string[]): WorkflowCommand {
  if (more.length > 1 || (more[0] !== undefined && !RUN_ID.test(more[0]))) {
    const usage = kind === 'resume' ? '`/workflow resume [run [args]]`' : `\`/workflow ${kind} [run]\``;
    return { kind: 'invalid', problem: `use ${usage}: the run id as \`/workflow status\` shows it, or nothing for the latest run here` };
  }
  return { kind, runId: more[0] ?? null };
}

/**
 * `make` given the args `text` stands for, or, when they start like JSON and are not, the answer
 * that names the position; the writer's text shows only in code spans.
 */
function withCommentArgs(text: string, make: (args: unknown) => WorkflowCommand, hint = ''): WorkflowCommand {
  let args: unknown;
  try {
    args = commentArgs(text);
  } catch (error) {
    if (!(error instanceof ArgsTextError)) throw error;
    return { kind: 'invalid', problem: `${error.explain('the args text', (quoted) => inlineCode(quoted))}${hint}` };
  }
  return make(args);
}

/**
 * DESIGN §4: the rest of the line, by the one rule of every door (contracts/script-args.ts); an
 * ArgsTextError when it starts with { or [ and is not JSON.
 */
export function commentArgs(text: string): unknown {
  if (text === '') return null;
  return parseArgsText(text);
}
