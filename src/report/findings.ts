// Findings in a run's result, in the shapes GitHub shows them: check run annotations and SARIF
// for code scanning. A workflow returns findings as `{ findings: [{ file, line?, title, detail?,
// severity? }] }` (audit, security-sweep) or inside `{ fixes: [{ finding }] }` (fix-findings);
// anything else has no findings to show.

export interface Finding {
  file: string;
  line: number | null;
  title: string;
  detail: string;
  severity: 'critical' | 'high' | 'medium' | 'low' | null;
  ruleId: string | null;
}

export interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: 'notice' | 'warning' | 'failure';
  title: string;
  message: string;
}

/** GitHub takes at most 50 annotations per request. */
export const ANNOTATIONS_PER_REQUEST = 50;
/** Beyond this, a run's findings are counted in the summary but not annotated. */
export const MAX_ANNOTATIONS = 1_000;

const SEVERITIES = new Set(['critical', 'high', 'medium', 'low']);

export function findingsOf(result: unknown): Finding[] {
  const record = result as { findings?: unknown; fixes?: unknown } | null;
  const raw: unknown[] = [];
  if (Array.isArray(record?.findings)) raw.push(...record.findings);
  else if (Array.isArray(record?.fixes)) raw.push(...record.fixes.map((fix) => (fix as { finding?: unknown } | null)?.finding));
  const findings: Finding[] = [];
  for (const item of raw) {
    const f = item as Record<string, unknown> | null;
    if (!f || typeof f.file !== 'string' || typeof f.title !== 'string') continue;
    const file = repositoryPath(f.file);
    if (!file) continue;
    const line = typeof f.line === 'number' && Number.isInteger(f.line) && f.line > 0 ? f.line : null;
    findings.push({
      file,
      line,
      title: f.title.slice(0, 255),
      detail: typeof f.detail === 'string' ? f.detail : '',
      severity: typeof f.severity === 'string' && SEVERITIES.has(f.severity) ? (f.severity as Finding['severity']) : null,
      ruleId: typeof f.cwe === 'string' ? f.cwe : typeof f.rule === 'string' ? f.rule : null,
    });
  }
  return findings;
}

/** A path inside the repository, as GitHub expects it; null for anything that leads out. */
function repositoryPath(file: string): string | null {
  const path = file.replace(/\\/g, '/').replace(/^\.\//, '');
  if (path === '' || path.startsWith('/') || path.split('/').includes('..')) return null;
  return path;
}

export function annotationsOf(findings: Finding[]): Annotation[] {
  return findings.slice(0, MAX_ANNOTATIONS).map((f) => ({
    path: f.file,
    start_line: f.line ?? 1,
    end_line: f.line ?? 1,
    annotation_level: f.severity === 'critical' || f.severity === 'high' ? 'failure' : f.severity === 'low' ? 'notice' : 'warning',
    title: f.title,
    // GitHub's limit is 64 KB per message.
    message: (f.detail || f.title).slice(0, 60_000),
  }));
}

/** SARIF 2.1.0, one result per finding, for `POST /code-scanning/sarifs`. */
export function sarifOf(findings: Finding[], tool: { name: string; version: string; workflow: string }): object {
  const rules = new Map<string, { id: string; shortDescription: { text: string } }>();
  const results = findings.map((f) => {
    const ruleId = f.ruleId ?? `foreman/${tool.workflow}`;
    if (!rules.has(ruleId)) rules.set(ruleId, { id: ruleId, shortDescription: { text: f.ruleId ? f.ruleId : `Finding of the ${tool.workflow} workflow` } });
    return {
      ruleId,
      level: f.severity === 'critical' || f.severity === 'high' ? 'error' : f.severity === 'low' ? 'note' : 'warning',
      message: { text: f.detail ? `${f.title}\n\n${f.detail}` : f.title },
      locations: [{ physicalLocation: { artifactLocation: { uri: f.file }, region: { startLine: f.line ?? 1 } } }],
    };
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{ tool: { driver: { name: tool.name, version: tool.version, rules: [...rules.values()] } }, automationDetails: { id: `foreman/${tool.workflow}/` }, results }],
  };
}
