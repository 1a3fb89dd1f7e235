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
  /** Entries Foreman has no tool for (TodoWrite, NotebookEdit, Task, mcp__…), as written. */
  ignored: string[];
}

/**
 * Maps a definition's tool entries. A permission pattern (`Bash(git log:*)`) maps as its tool:
 * Foreman's own command rules (`agents.commands`) decide what the command tool may run. Foreman's
 * own names (`read_file`) are accepted as well, for definitions written for Foreman.
 */
export function foremanToolsOf(entries: readonly string[]): MappedTools {
  const tools = new Set<string>();
  const ignored: string[] = [];
  for (const entry of entries) {
    const name = entry.replace(/\(.*\)$/s, '').trim();
    const mapped = CLAUDE_CODE_TOOLS[name] ?? (FOREMAN_AGENT_TOOLS.includes(name) ? name : undefined);
    if (mapped) tools.add(mapped);
    else ignored.push(entry);
  }
  return { tools: [...tools], ignored };
}
