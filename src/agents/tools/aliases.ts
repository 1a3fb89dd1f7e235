// Claude Code's tool names and input names, accepted as unadvertised aliases of Foreman's tools.
// Foreman offers its own names (DESIGN.md fixes them), but a model trained on Claude Code may
// still call `Bash` or `Read` with `file_path`: such a call is mapped here instead of failing as
// an unknown tool. docs/script-api.md, "Agent tools and Claude Code's names", lists the table.

interface ToolAlias {
  /** The Foreman tool the call runs. */
  readonly tool: string;
  /** Claude Code's input name → Foreman's; names not listed pass as they are (unknown ones are ignored). */
  readonly inputs: Readonly<Record<string, string>>;
}

export const CLAUDE_CODE_TOOL_ALIASES: Readonly<Record<string, ToolAlias>> = {
  Bash: { tool: 'run_command', inputs: {} },
  Read: { tool: 'read_file', inputs: { file_path: 'path' } },
  Edit: { tool: 'edit_file', inputs: { file_path: 'path' } },
  Write: { tool: 'write_file', inputs: { file_path: 'path' } },
  Grep: { tool: 'search', inputs: {} },
  Glob: { tool: 'list_files', inputs: { pattern: 'glob' } },
  LS: { tool: 'list_files', inputs: {} },
};

/**
 * The Foreman tool and input a call by one of Claude Code's names stands for, or null for any
 * other name. Claude Code's paths are absolute; one inside `root` becomes relative to it, so that
 * the one path resolver (confinement.ts) still decides what may be reached.
 */
export function fromClaudeCode(name: string, input: unknown, root: string): { name: string; input: unknown } | null {
  if (!Object.hasOwn(CLAUDE_CODE_TOOL_ALIASES, name)) return null;
  const alias = CLAUDE_CODE_TOOL_ALIASES[name];
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return { name: alias.tool, input };
  const mapped: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const renamed = Object.hasOwn(alias.inputs, key) ? alias.inputs[key] : key;
    // Foreman's own name wins when the model sent both.
    if (renamed !== key && Object.hasOwn(input, renamed)) continue;
    mapped[renamed] = renamed === 'path' && typeof value === 'string' ? relativeToRoot(value, root) : value;
  }
  return { name: alias.tool, input: mapped };
}

/** The model's name for the root's path is often the root itself: `/repo/src/a.ts` inside `/repo` is `src/a.ts`. */
function relativeToRoot(path: string, root: string): string {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  if (path === root || path === prefix) return '.';
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}
