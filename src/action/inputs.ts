// The Action's inputs (action.yml), read and checked once: a bad value fails the step with the
// input's name and what it takes.
import * as core from '@actions/core';
import { commentArgs } from '../github/commands.ts';

export type ProposeMode = 'pr' | 'branch' | 'none';

export interface ActionInputs {
  workflow: string;
  args: unknown;
  anthropicApiKey: string;
  githubToken: string;
  config: string;
  base: string;
  model: string | undefined;
  budgetTokens: number | undefined;
  maxCostUsd: number | undefined;
  concurrency: number | undefined;
  propose: ProposeMode;
  checkRuns: boolean;
  sarif: boolean;
}

export class InputError extends Error {}

export function readInputs(): ActionInputs {
  const anthropicApiKey = core.getInput('anthropic-api-key');
  if (!anthropicApiKey) throw new InputError('anthropic-api-key is empty: pass `anthropic-api-key: ${{ secrets.ANTHROPIC_API_KEY }}` and add that secret to the repository');
  const githubToken = core.getInput('github-token');
  if (!githubToken) throw new InputError('github-token is empty: leave it out to use `github.token`, or pass a token with contents, pull-requests and checks write');
  core.setSecret(anthropicApiKey);
  const propose = core.getInput('propose') || 'pr';
  if (propose !== 'pr' && propose !== 'branch' && propose !== 'none') throw new InputError(`propose must be pr, branch or none, not ${propose}`);
  return {
    workflow: core.getInput('workflow'),
    args: commentArgs(core.getInput('args')),
    anthropicApiKey,
    githubToken,
    config: core.getInput('config') || '.github/foreman.yml',
    base: core.getInput('base'),
    model: core.getInput('model') || undefined,
    budgetTokens: positive('budget-tokens', true),
    maxCostUsd: positive('max-cost-usd', false),
    concurrency: positive('concurrency', true),
    propose,
    checkRuns: flag('check-runs', true),
    sarif: flag('sarif', false),
  };
}

function positive(name: string, whole: boolean): number | undefined {
  const text = core.getInput(name);
  if (text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (whole && !Number.isInteger(value))) throw new InputError(`${name} must be a ${whole ? 'whole ' : ''}number above 0, not ${text}`);
  return value;
}

function flag(name: string, fallback: boolean): boolean {
  const text = core.getInput(name);
  if (text === '') return fallback;
  if (/^(true|false)$/i.test(text)) return /^true$/i.test(text);
  throw new InputError(`${name} must be true or false, not ${text}`);
}
