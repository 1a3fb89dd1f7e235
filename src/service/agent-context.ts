// What shapes a run's agents besides the script, read once per run where the run works: the agent
// types (.claude/agents/) and the project memory (CLAUDE.md). From the working tree on the CLI
// (from its directory up to the root, and the user's ~/.claude), from the checkout on the Action,
// and from the default branch's commit on the App (as saved workflows are: a pull request cannot
// change the agents that review it). Runs from GitHub have no user home to read.

import { loadAgentTypes, type AgentTypeCatalog } from '../agents/agent-types.ts';
import { commitFiles, directoryFiles, type ProjectFiles } from '../agents/project-files.ts';
import { loadProjectMemory, type ProjectMemory } from '../agents/project-memory.ts';

export interface AgentContextPlace {
  /** The repository: its working tree, or the git directory of a bare clone when `commit` is set. */
  repo: string;
  /** Read the repository's files at this commit instead of its working tree (the App). */
  commit?: string;
  /** The run's directory, relative to the root ('' for the root). */
  workDir: string;
  /** The user's home, for ~/.claude: the CLI's only. */
  userHome?: string;
}

export interface AgentContext {
  agentTypes: AgentTypeCatalog;
  memory: ProjectMemory | null;
  /** Memory files left out, for the run's warnings. */
  warnings: string[];
}

export async function loadAgentContext(place: AgentContextPlace): Promise<AgentContext> {
  const project: ProjectFiles = place.commit ? commitFiles(place.repo, place.commit) : directoryFiles(place.repo, '', 'the repository');
  const user = place.userHome === undefined ? undefined : directoryFiles(place.userHome, '~/', 'the home directory');
  const closestFirst = upTheTree(place.workDir);
  const [agentTypes, loaded] = await Promise.all([
    loadAgentTypes({ project, projectDirs: closestFirst, ...(user ? { user } : {}) }),
    loadProjectMemory({ project, projectDirs: [...closestFirst].reverse(), ...(user ? { user } : {}) }),
  ]);
  return { agentTypes, memory: loaded.memory, warnings: loaded.warnings };
}

/** 'a/b' → ['a/b', 'a', '']: the run's directory, then each one above it up to the root. */
export function upTheTree(workDir: string): string[] {
  const parts = workDir.split('/').filter((part) => part !== '' && part !== '.');
  return [...parts.map((_, i) => parts.slice(0, parts.length - i).join('/')), ''];
}
