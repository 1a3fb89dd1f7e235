// The part of `/workflow status` that shows spend against limits.spend: the repository's and its
// installation's spend today and this month (UTC), from the shared ledger, next to their caps.
import type { ForemanConfig } from '../config/schema.ts';
import type { SpendCap, SpendScope, Store } from '../contracts/store.ts';
import { formatSpend, periodEnd, spendKeys, type SpendPeriod } from '../runtime/spend.ts';
import { spendScopes } from '../service/spend-scopes.ts';
import { inlineCode } from '../report/markdown.ts';

export type SpendReader = Pick<Store, 'readSpend'>;

/** A markdown table: one row per scope, today and this month, spent "of" the cap where one is set. */
export async function spendStatus(reader: SpendReader, config: ForemanConfig, where: { owner: string; repo: string; installationId: number }, now: Date): Promise<string> {
  const scopes = spendScopes(config, { repository: `${where.owner}/${where.repo}`, installation: String(where.installationId) });
  // Per scope, its day and then its month.
  const totals = await reader.readSpend(spendKeys(scopes, now));
  const rows = scopes.map((scope, i) => `| ${scope.kind} ${inlineCode(scope.id)} | ${cell(totals[2 * i]!, scope, 'day')} | ${cell(totals[2 * i + 1]!, scope, 'month')} |`);
  const capped = scopes.some((scope) => scope.day || scope.month);
  return [
    `**Spend** (UTC days and months; caps from \`limits.spend\`${capped ? '' : ', none set'}):`,
    '',
    '| Scope | Today | This month |',
    '| --- | --- | --- |',
    ...rows,
    '',
    `Today's spend resets at ${periodEnd('day', now).toISOString()}, this month's at ${periodEnd('month', now).toISOString()}.`,
  ].join('\n');
}

function cell(spent: { usd: number; tokens: number }, scope: SpendScope, period: SpendPeriod): string {
  const cap: SpendCap = scope[period] ?? {};
  const part = (unit: keyof SpendCap): string => `${formatSpend(unit, spent[unit])}${cap[unit] === undefined ? '' : ` of ${formatSpend(unit, cap[unit])}`}`;
  return `${part('usd')}, ${part('tokens')}`;
}
