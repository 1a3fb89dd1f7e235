// The syntax of a command in foreman.yml (`gate` steps, `agents.commands` patterns) and of a
// command an agent asks to run. Commands run without a shell: a command line is split into argv
// once, here, and anything only a shell would give meaning to (pipes, redirections, globs,
// substitutions) is refused instead of silently passed through as a literal word. That keeps the
// allow-list in `agents.commands` meaningful: what matched is exactly what runs.
// It lives in src/config because loading the config checks every pattern with this very parser
// (a second parser could drift from the matcher), and src/config sits below src/workspace, which
// runs the commands (src/workspace/command.ts re-exports these names).
import { parse, type ParseEntry } from 'shell-quote';

export class CommandSyntaxError extends Error {}

const NO_SHELL = 'commands run without a shell';

/**
 * Splits a command line into argv without a shell (shell-quote's parse). Rejects operators
 * (| && ; > < etc.), globs, command substitution, variables and leading VAR=value assignments.
 */
export function parseCommandLine(text: string): string[] {
  return splitWords(text, false);
}

/**
 * A pattern of `agents.commands`: like parseCommandLine, except that '*' and '**' are words
 * (wildcards) rather than globs, and '**' may only come last. Exported so that config checks can
 * report a bad pattern instead of isCommandAllowed silently never matching it.
 */
export function parseCommandPattern(text: string): string[] {
  const words = splitWords(text, true);
  const inner = words.slice(0, -1).indexOf('**');
  if (inner >= 0) {
    throw new CommandSyntaxError(`command pattern ${JSON.stringify(text)}: '**' (any remaining arguments) may only be the last word; use '*' for exactly one argument at position ${inner + 1}`);
  }
  return words;
}

function splitWords(text: string, wildcards: boolean): string[] {
  const show = JSON.stringify(text);
  checkQuoting(text, show);
  let tokens: ParseEntry[];
  try {
    tokens = parse(text, (name: string): string => {
      if (name === '') {
        throw new CommandSyntaxError(`command ${show}: '$' starts a command substitution or expansion, and ${NO_SHELL}; run the inner command separately, or write '$' inside single quotes to pass it literally`);
      }
      throw new CommandSyntaxError(`command ${show}: $${name} is a variable, and ${NO_SHELL} so it would not be expanded; write the value itself, or put the text in single quotes to pass '$${name}' literally`);
    });
  } catch (error) {
    if (error instanceof CommandSyntaxError) throw error;
    throw new CommandSyntaxError(`command ${show} cannot be parsed (${(error as Error).message}); check its quotes are balanced`);
  }
  const words: string[] = [];
  for (const token of tokens) {
    if (typeof token === 'string') {
      words.push(token);
    } else if ('comment' in token) {
      throw new CommandSyntaxError(`command ${show}: '#' starts a comment here; put '#' in quotes if it is part of an argument, or remove the comment`);
    } else if (token.op === 'glob') {
      if (wildcards && (token.pattern === '*' || token.pattern === '**')) {
        words.push(token.pattern);
        continue;
      }
      throw new CommandSyntaxError(`command ${show}: ${token.pattern} is a glob, and ${NO_SHELL} so nothing would expand it; name the files, or quote the pattern if the program expands it itself`);
    } else {
      throw new CommandSyntaxError(`command ${show}: '${token.op}' is a shell operator, and ${NO_SHELL} (no pipes, redirections, '&&', ';' or background jobs); run one program per command, or put the steps in a script (e.g. an npm script) and run that`);
    }
  }
  if (words.length === 0) {
    throw new CommandSyntaxError(`command ${show} is empty: give a program and its arguments, e.g. 'npm test'`);
  }
  if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
    throw new CommandSyntaxError(`command ${show} starts with the assignment ${words[0]}, and ${NO_SHELL} so it would be taken as the program name; drop it, or set the variable in the script the command runs`);
  }
  return words;
}

// shell-quote keeps `...` as literal text, which a reader of the config would take for a
// substitution (only backticks inside single quotes are literal), and it silently closes an
// unclosed quote, which would turn a typo into different arguments.
function checkQuoting(text: string, show: string): void {
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = null;
    } else if (c === '\\') {
      i++;
    } else if (c === '`') {
      throw new CommandSyntaxError(`command ${show}: backticks are command substitution, and ${NO_SHELL}; run the inner command separately, or put the backtick inside single quotes to pass it literally`);
    } else if (quote === '"') {
      if (c === '"') quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    }
  }
  if (quote) {
    throw new CommandSyntaxError(`command ${show} has an unclosed ${quote === '"' ? 'double' : 'single'} quote; close it, or escape it with a backslash if it is part of an argument`);
  }
}

/**
 * True when argv matches one of the allowed patterns: each word equals the argument at that
 * position, except '*' (exactly one argument) and a final '**' (zero or more). The program name is
 * compared as given, without PATH resolution. A pattern that does not parse matches nothing.
 */
export function isCommandAllowed(argv: readonly string[], patterns: readonly string[]): boolean {
  return patterns.some((text) => {
    let pattern: string[];
    try {
      pattern = parseCommandPattern(text);
    } catch {
      return false;
    }
    return matches(argv, pattern);
  });
}

function matches(argv: readonly string[], pattern: readonly string[]): boolean {
  const rest = pattern[pattern.length - 1] === '**';
  const fixed = rest ? pattern.length - 1 : pattern.length;
  if (rest ? argv.length < fixed : argv.length !== fixed) return false;
  for (let i = 0; i < fixed; i++) {
    if (pattern[i] !== '*' && pattern[i] !== argv[i]) return false;
  }
  return true;
}
