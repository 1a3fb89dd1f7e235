export const meta = {
  name: 'security-sweep',
  description: 'Sweep the code for security vulnerabilities by class, with severity and CWE; keep only verified findings',
  readOnly: true,
  whenToUse: 'args: optional { classes: ["sql injection", ...], maxFiles: 40 }; schedules and releases run it',
  phases: [{ title: 'Map' }, { title: 'Audit' }, { title: 'Verify' }],
}

const DEFAULT_CLASSES = [
  'injection (SQL, command, template) — CWE-89, CWE-78, CWE-94',
  'cross-site scripting — CWE-79',
  'path traversal — CWE-22',
  'server-side request forgery — CWE-918',
  'broken authentication or authorisation — CWE-287, CWE-862, CWE-863',
  'hard-coded secrets — CWE-798',
  'unsafe deserialisation — CWE-502',
  'weak or misused cryptography — CWE-327, CWE-330',
]
const classes = (args && args.classes) || DEFAULT_CLASSES
const maxFiles = (args && args.maxFiles) || 40

const FILES = { type: 'object', required: ['files'], properties: { files: { type: 'array', items: { type: 'string' } } } }
// The findings convention (docs/script-api.md, "Findings"), copied as is: Foreman's checks,
// comments and SARIF read these fields of a workflow's result.
const FINDING = { type: 'object', required: ['file', 'title', 'detail'], properties: { file: { type: 'string' }, line: { type: 'number' }, title: { type: 'string' }, severity: { enum: ['critical', 'high', 'medium', 'low'] }, detail: { type: 'string' } } }
const findingsOf = (item) => ({ type: 'object', required: ['findings'], properties: { findings: { type: 'array', items: item } } })
// A vulnerability is a finding that must also say how severe it is and its CWE.
const FINDINGS = findingsOf({
  ...FINDING,
  required: [...FINDING.required, 'severity', 'cwe'],
  properties: { ...FINDING.properties, cwe: { type: 'string', pattern: '^CWE-[0-9]+$' } },
})
const VERDICT = {
  type: 'object',
  required: ['verdict', 'reason'],
  properties: {
    verdict: { enum: ['exploitable', 'false-positive'] },
    severity: { enum: ['critical', 'high', 'medium', 'low'] },
    reason: { type: 'string' },
  },
}

const classList = classes.map((c) => `- ${c}`).join('\n')

phase('Map')
const map = await agent(
  'List the source files of this repository where untrusted input enters or security decisions are made ' +
    `(request handlers, parsers, file and process access, authentication, crypto). At most ${maxFiles} paths, ` +
    `riskiest first, relative to the repository root. The classes of interest:\n${classList}`,
  { schema: FILES, label: 'map attack surface', model: 'haiku' },
)
const files = map ? map.files.slice(0, maxFiles) : []
log(`sweeping ${files.length} files for ${classes.length} vulnerability classes`)

const checked = await pipeline(
  files,
  (file) =>
    agent(
      `Audit ${file} for these vulnerability classes:\n${classList}\n\n` +
        'Trace untrusted input to where it is used. Report only vulnerabilities you can point at, each with its ' +
        'CWE id, a severity, the line, and how an attacker would reach it. An empty list is a good answer.',
      { label: file, phase: 'Audit', schema: FINDINGS },
    ),
  (report, file) =>
    parallel(
      (report ? report.findings : []).map((finding) => async () => {
        const verdict = await agent(
          `A security reviewer reported ${finding.cwe} (${finding.severity}) in ${finding.file}` +
            `${finding.line ? ` line ${finding.line}` : ''}:\n\n${finding.title}\n${finding.detail}\n\n` +
            'Try to refute it: is the input really attacker-controlled, is it sanitised or checked elsewhere, is the ' +
            'code reachable? Answer "exploitable" only if you could not refute it, and correct the severity if needed.',
          { label: `verify ${file}: ${finding.title}`, phase: 'Verify', schema: VERDICT },
        )
        if (!verdict || verdict.verdict !== 'exploitable') return null
        return { ...finding, severity: verdict.severity || finding.severity, verification: verdict.reason }
      }),
    ),
)

const ORDER = { critical: 0, high: 1, medium: 2, low: 3 }
const findings = checked
  .filter(Boolean)
  .flat()
  .filter(Boolean)
  .sort((a, b) => ORDER[a.severity] - ORDER[b.severity])
log(`${findings.length} vulnerabilities survived verification`)
return { classes, files, findings }
