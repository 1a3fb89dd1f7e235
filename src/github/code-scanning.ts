// Findings to GitHub code scanning: one SARIF upload per run, for the commit and ref it read.
import { gzipSync } from 'node:zlib';
import type { Octokit } from '@octokit/core';
import { sarifOf, type Finding } from '../report/findings.ts';

export interface SarifTarget {
  octokit: Pick<Octokit, 'request'>;
  owner: string;
  repo: string;
  commitSha: string;
  /** refs/heads/…, refs/pull/N/head or refs/tags/…: what code scanning files the results under. */
  ref: string;
  workflow: string;
  version: string;
}

/** Uploads and says what happened, in a sentence for a report; never throws. */
export async function uploadSarif(target: SarifTarget, findings: Finding[], onError: (error: unknown) => void = () => {}): Promise<string> {
  const sarif = sarifOf(findings, { name: 'Foreman', version: target.version, workflow: target.workflow });
  try {
    await target.octokit.request('POST /repos/{owner}/{repo}/code-scanning/sarifs', {
      owner: target.owner,
      repo: target.repo,
      commit_sha: target.commitSha,
      ref: target.ref,
      sarif: gzipSync(JSON.stringify(sarif)).toString('base64'),
      tool_name: 'Foreman',
    });
    return `${findings.length} findings were uploaded to code scanning.`;
  } catch (error) {
    onError(error);
    const status = (error as { status?: number }).status;
    const fix = status === 403 || status === 404 ? 'enable code scanning for the repository and allow "Code scanning alerts: write" (security-events: write)' : 'see the log';
    return `The findings could not be uploaded to code scanning (${status ?? 'error'}): ${fix}.`;
  }
}
