// Agent types, as Claude Code defines them: a Markdown file in .claude/agents/ whose YAML
// frontmatter names the type (`name`, `description`), may restrict its tools (`tools`,
// `disallowedTools`) and choose its model (`model`), and whose body is its system prompt. Looked
// up in the repository's .claude/agents/ from the run's directory up to the root (the closest
// wins), then the user's ~/.claude/agents/ (CLI only), then Foreman's built-ins.

import { parse as parseYaml } from 'yaml';
import type { AgentTypeDefinition, AgentTypes } from '../contracts/ports.ts';
import { FOREMAN_AGENT_TOOLS, foremanToolsOf } from './claude-code-tools.ts';
import { ProjectFileError, unreadable, type ProjectFiles } from './project-files.ts';

/** The most of one definition file Foreman reads: a prompt, not a document. */
export const MAX_AGENT_DEFINITION_BYTES = 64 * 1024;
/** Definitions read per directory; a repository with more is not using them as agent types. */
const MAX_DEFINITIONS_PER_DIR = 256;
const AGENTS_DIR = '.claude/agents';
const FIX = 'a definition is `---`, YAML with `name:` and `description:` (optional `tools:`, `model:`), `---`, then the prompt';

const READ_ONLY = ['list_files', 'read_file', 'search', 'web_search', 'web_fetch'];

/** Claude Code's built-in types: its tools and models, Foreman's own words. */
export const BUILTIN_AGENT_TYPES: readonly AgentTypeDefinition[] = [
  {
    name: 'general-purpose',
    description: 'Researches complex questions, searches code and carries out multi-step tasks',
    systemPrompt:
      'You are a general-purpose agent. Work the task through to the end: when you do not know where something lives, search broadly first, then narrow down; read the code that matters before you conclude anything; check your work before you report it.',
    source: 'built-in',
  },
  {
    name: 'Explore',
    description: 'Fast, read-only search and analysis of the codebase',
    tools: READ_ONLY,
    model: 'haiku',
    systemPrompt:
      'You are a fast, read-only explorer of this codebase. Find files by their names and paths, search their contents, and read what answers the question. You cannot change anything. Be as thorough as the task asks: a quick lookup, a balanced search, or a very thorough sweep across naming conventions and locations. Name files by their paths from the repository root.',
    source: 'built-in',
  },
  {
    name: 'Plan',
    description: 'Read-only research of the codebase for an implementation plan',
    tools: READ_ONLY,
    systemPrompt:
      'You research this codebase to plan a change; you do not make it. Read the code the change touches and the code that depends on it, note the conventions to follow and the risks, and end with a plan in ordered steps and the files most critical to it.',
    source: 'built-in',
  },
];

/** Where definitions are looked for. */
export interface AgentTypeSources {
  project: ProjectFiles;
  /** Directories inside the repository, closest to the run's first ('' is the root). */
  projectDirs: readonly string[];
  /** The user's home (`~/.claude/agents`): the CLI's only. */
  user?: ProjectFiles;
}

/** A definition file that could not be used, by the name its file gives it. */
interface Unusable {
  stem: string;
  problem: string;
}

export async function loadAgentTypes(sources: AgentTypeSources): Promise<AgentTypeCatalog> {
  const places: Array<{ files: ProjectFiles; dir: string }> = [
    ...sources.projectDirs.map((dir) => ({ files: sources.project, dir: dir === '' ? AGENTS_DIR : `${dir}/${AGENTS_DIR}` })),
    ...(sources.user ? [{ files: sources.user, dir: AGENTS_DIR }] : []),
  ];
  const found: Array<{ stem: string; definition: AgentTypeDefinition }> = [];
  const unusable: Unusable[] = [];
  for (const { files, dir } of places) {
    // A directory or file that cannot be read is skipped: naming its type says why.
    const names = await files.list(dir, MAX_DEFINITIONS_PER_DIR).catch(() => []);
    for (const fileName of names) {
      if (!fileName.endsWith('.md')) continue;
      const relative = `${dir}/${fileName}`;
      const stem = fileName.slice(0, -'.md'.length);
      try {
        const text = await files.read(relative, MAX_AGENT_DEFINITION_BYTES);
        if (text !== null) found.push({ stem, definition: parseAgentDefinition(text, files.shown(relative)) });
      } catch (error) {
        unusable.push({ stem, problem: unreadable(error, files.shown(relative)) });
      }
    }
  }
  return new AgentTypeCatalog(found, unusable, places.map(({ files, dir }) => files.shown(dir)));
}

/** One run's agent types: what `agentType` names resolve to, and the message when one does not. */
export class AgentTypeCatalog implements AgentTypes {
  readonly #byName = new Map<string, AgentTypeDefinition>();
  readonly #byStem = new Map<string, AgentTypeDefinition>();
  readonly #unusable: Unusable[];
  readonly #searched: string[];

  constructor(found: ReadonlyArray<{ stem: string; definition: AgentTypeDefinition }>, unusable: Unusable[], searched: string[]) {
    // In search order, so the closest directory's definition of a name wins.
    for (const { stem, definition } of found) {
      if (!this.#byName.has(definition.name)) this.#byName.set(definition.name, definition);
      if (!this.#byStem.has(stem)) this.#byStem.set(stem, definition);
    }
    for (const builtin of BUILTIN_AGENT_TYPES) if (!this.#byName.has(builtin.name)) this.#byName.set(builtin.name, builtin);
    this.#unusable = unusable;
    this.#searched = searched;
  }

  resolve(name: string): AgentTypeDefinition | { error: string } {
    const exact = this.#byName.get(name) ?? this.#byStem.get(name);
    if (exact) return exact;
    const broken = this.#unusable.find((file) => file.stem === name);
    if (broken) return { error: `agent(): agentType '${name}' cannot be used: ${broken.problem}` };
    // 'explore' for 'Explore': only when the name is unambiguous.
    const folded = [...this.#byName.values()].filter((definition) => definition.name.toLowerCase() === name.toLowerCase());
    if (folded.length === 1) return folded[0];
    return { error: this.#unknown(name) };
  }

  #unknown(name: string): string {
    const known = [...this.#byName.values()].map((definition) => (definition.source === 'built-in' ? definition.name : `${definition.name} (${definition.source})`));
    const skipped = this.#unusable.length > 0 ? ` Skipped: ${this.#unusable.map((file) => file.problem).join('; ')}.` : '';
    const where = [...this.#searched, "Foreman's built-ins"].join(', ');
    return (
      `agent(): agentType '${name.length > 80 ? `${name.slice(0, 80)}…` : name}' is not defined. Known agent types: ${known.join(', ')}. ` +
      `Looked in ${where}.${skipped} Define it in .claude/agents/<name>.md (${FIX}), or name a known type.`
    );
  }
}

/**
 * A Claude Code subagent file as a definition, or a ProjectFileError naming `shown` and the fix.
 * The frontmatter is parsed as plain YAML data (the core schema: no custom tags, few aliases).
 */
export function parseAgentDefinition(text: string, shown: string): AgentTypeDefinition {
  const match = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(text);
  if (!match) throw new ProjectFileError(`${shown} has no YAML frontmatter: ${FIX}`);
  let data: unknown;
  try {
    data = parseYaml(match[1], { schema: 'core', maxAliasCount: 16, uniqueKeys: true, prettyErrors: false });
  } catch (error) {
    // Any failure of untrusted YAML is the file's: a syntax error, a duplicate key, an alias bomb.
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ProjectFileError(`${shown}: its frontmatter is not valid YAML (${reason}): ${FIX}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new ProjectFileError(`${shown}: its frontmatter is not a mapping of keys to values: ${FIX}`);
  const fields = data as Record<string, unknown>;
  const name = requiredText(fields, 'name', shown);
  if (name.length > 128 || /[\s\p{Cc}]/u.test(name)) throw new ProjectFileError(`${shown}: name must be one word of at most 128 characters (letters, digits, hyphens), got ${JSON.stringify(name.slice(0, 40))}`);
  const description = requiredText(fields, 'description', shown);
  const definition: AgentTypeDefinition = { name, description, systemPrompt: text.slice(match[0].length).trim(), source: shown };
  const model = optionalModel(fields.model, shown);
  if (model !== undefined) definition.model = model;
  const tools = toolsOf(fields, shown);
  if (tools.tools !== undefined) definition.tools = tools.tools;
  if (tools.commands !== undefined) definition.commands = tools.commands;
  if (tools.ignored.length > 0) definition.ignoredTools = tools.ignored;
  return definition;
}

function requiredText(fields: Record<string, unknown>, key: string, shown: string): string {
  const value = fields[key];
  if (typeof value !== 'string' || value.trim() === '') throw new ProjectFileError(`${shown}: the frontmatter needs \`${key}:\` as text: ${FIX}`);
  return value.trim();
}

function optionalModel(value: unknown, shown: string): string | undefined {
  if (value === undefined || value === null || value === 'inherit') return undefined;
  if (typeof value !== 'string' || value.trim() === '' || value.length > 128) {
    throw new ProjectFileError(`${shown}: model must be sonnet, opus, haiku, inherit or a model id, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value}`);
  }
  return value.trim();
}

/** `tools` allows, `disallowedTools` then removes; omitted (or `*`) is all the tools the agent would have. */
function toolsOf(fields: Record<string, unknown>, shown: string): { tools?: string[]; commands?: string[]; ignored: string[] } {
  const allowed = toolList(fields.tools, 'tools', shown);
  const denied = toolList(fields.disallowedTools, 'disallowedTools', shown);
  const mapped = allowed && !allowed.includes('*') ? foremanToolsOf(allowed) : null;
  const removed = denied ? foremanToolsOf(denied).tools : [];
  const ignored = mapped?.ignored ?? [];
  const commands = mapped?.commands ? { commands: mapped.commands } : {};
  if (removed.length === 0) return mapped ? { tools: mapped.tools, ...commands, ignored } : { ignored };
  const base = mapped?.tools ?? FOREMAN_AGENT_TOOLS;
  return { tools: base.filter((tool) => !removed.includes(tool)), ...commands, ignored };
}

/** A comma-separated string or a YAML list of names; undefined when the key is absent. */
function toolList(value: unknown, key: string, shown: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const items = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : null;
  if (!items || items.some((item) => typeof item !== 'string') || items.length > 256) {
    throw new ProjectFileError(`${shown}: ${key} must be tool names, comma-separated (\`${key}: Read, Grep, Glob\`) or a YAML list`);
  }
  return (items as string[]).map((item) => item.trim()).filter((item) => item !== '');
}
