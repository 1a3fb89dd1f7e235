// Repository roles, and who has which: the rule behind every "may this person start a run" check
// of the App and the Action.
import type { Octokit } from '@octokit/core';

export const ROLE_RANK = { read: 1, triage: 2, write: 3, maintain: 4, admin: 5 } as const;
export type Role = keyof typeof ROLE_RANK;

export const hasRole = (role: Role | null, needed: Role): boolean => role !== null && ROLE_RANK[role] >= ROLE_RANK[needed];

/** `login`'s role on the repository, or null when GitHub knows of none. */
export async function roleOf(octokit: Pick<Octokit, 'request'>, where: { owner: string; repo: string; author: string }): Promise<Role | null> {
  try {
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/collaborators/{username}/permission', { owner: where.owner, repo: where.repo, username: where.author });
    // role_name tells maintain and triage apart; permission alone folds them into write and read.
    const named = (data as { role_name?: string }).role_name;
    if (named && named in ROLE_RANK) return named as Role;
    return data.permission in ROLE_RANK ? (data.permission as Role) : null;
  } catch (error) {
    // 404: not a collaborator at all (for example someone commenting on a public repository).
    if ((error as { status?: number }).status === 404) return null;
    throw error;
  }
}
