// Which ledger scopes a run's agents count against (limits.spend), and their caps from the config.
// The door names the scopes: the App the repository (`owner/repo`) and its installation; the CLI
// the repository's root directory, since a local clone may have no remote, or one shared by clones.
import type { ForemanConfig } from '../config/schema.ts';
import type { SpendScope } from '../contracts/store.ts';

/** The names a door gives a run's scopes. */
export interface SpendScopeNames {
  repository: string;
  /** A GitHub App installation's id; the CLI and the Action have none. */
  installation?: string;
}

/**
 * Every scope the run counts against, with the config's caps. A scope without caps is still
 * counted, so `/workflow status` shows what was spent before anyone set one.
 */
export function spendScopes(config: ForemanConfig, names: SpendScopeNames): SpendScope[] {
  const caps = config.limits?.spend ?? {};
  const scopes: SpendScope[] = [{ kind: 'repository', id: names.repository, ...caps.repository }];
  if (names.installation !== undefined) scopes.push({ kind: 'installation', id: names.installation, ...caps.installation });
  return scopes;
}

/** A resumed run keeps its scopes and takes the caps the config has now: raising one there is how a run gets past it early. */
export function resumedSpendScopes(stored: readonly SpendScope[] | undefined, config: ForemanConfig): SpendScope[] | undefined {
  if (!stored) return undefined;
  const caps = config.limits?.spend ?? {};
  return stored.map((scope) => ({ kind: scope.kind, id: scope.id, ...caps[scope.kind] }));
}
