// Claude Code's tool names, as agent definitions (`tools:` in .claude/agents/*.md) list them, and
// the Foreman tools that do the same job. A definition written for Claude Code restricts a
// Foreman agent to the same abilities.

/** Claude Code tool → Foreman tool. Tools Foreman has no counterpart for are not here. */
export const CLAUDE_CODE_TOOLS: Readonly<Record<string, string>> = {
  Read: 'read_file',
  Write: 'write_file',
  Edit: 'edit_file',
  MultiEdit: 'edit_file',
  Bash: 'run_command',
  Grep: 'search',
  Glob: 'list_files',
  LS: 'list_files',
  WebSearch: 'web_search',
  WebFetch: 'web_fetch',
};

/** Every Foreman tool a definition may name, in the order agents are offered them. */
export const FOREMAN_AGENT_TOOLS: readonly string[] = [...new Set(Object.values(CLAUDE_CODE_TOOLS))];

export interface MappedTools {
  /** Foreman tool names, without duplicates. */
  tools: string[];
  /**
   * The commands the definition's `Bash(pattern)` entries allow, in Foreman's pattern syntax
   * (config/command-line.ts); absent when it names `Bash` plainly (any command) or not at all.
   */
  commands?: string[];
  /** Entries Foreman has no tool for (TodoWrite, NotebookEdit, Task, mcp__…), as written. */
  ignored: string[];
}

/**
 * Maps a definition's tool entries. A permission pattern (`Bash(git log:*)`) maps as its tool and
 * restricts it: such an agent's commands must match one of its patterns (and `agents.commands`,
 * where the repository sets it). Foreman's own names (`read_file`) are accepted as well, for
 * definitions written for Foreman.
 */
export function foremanToolsOf(entries: readonly string[]): MappedTools {
  const tools = new Set<string>();
  const ignored: string[] = [];
  const commands: string[] = [];
  let anyCommand = false;
  for (const entry of entries) {
    const pattern = /^Bash\((.*)\)$/s.exec(entry.trim())?.[1];
    const name = entry.replace(/\(.*\)$/s, '').trim();
    const mapped = CLAUDE_CODE_TOOLS[name] ?? (FOREMAN_AGENT_TOOLS.includes(name) ? name : undefined);
    if (!mapped) {
      ignored.push(entry);
      continue;
    }
    tools.add(mapped);
    if (mapped !== 'run_command') continue;
    const converted = pattern === undefined ? null : commandPattern(pattern);
    if (pattern === undefined || converted === '**') anyCommand = true;
    else if (converted !== null) commands.push(converted);
  }
  const restricted = tools.has('run_command') && !anyCommand;
  return { tools: [...tools], ignored, ...(restricted ? { commands } : {}) };
}

/**
 * Claude Code's `Bash(...)` rule as a Foreman command pattern: `npm run test:*` (a prefix) is
 * `npm run test **`, `git status` is itself, `*` is any command. A rule with a wildcard elsewhere
 * has no counterpart: null, so it allows nothing rather than more than it says.
 */
function commandPattern(rule: string): string | null {
  const text = rule.trim();
  if (text === '*') return '**';
  const prefix = text.endsWith(':*') ? text.slice(0, -2).trim() : text;
  if (prefix === '' || /[*?[\]{}$`|&;<>()\\"']/.test(prefix)) return null;
  return text.endsWith(':*') ? `${prefix} **` : prefix;
}
