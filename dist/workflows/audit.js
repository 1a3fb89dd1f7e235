export const meta = {
  name: 'audit',
  description: 'Audit the code for one concern; keep only the findings that survive an adversarial review',
  readOnly: true,
  whenToUse: 'args: the concern, e.g. "auth" or "error handling" (or { concern, maxFiles })',
  args: 'required',
  phases: [{ title: 'Map' }, { title: 'Audit' }, { title: 'Verify' }],
}

const concern = typeof args === 'string' ? args : args && args.concern
if (typeof concern !== 'string' || concern.trim() === '') {
  throw new Error('audit needs a concern: foreman run audit --args "auth" (or --args \'{"concern":"auth"}\')')
}
const maxFiles = (args && args.maxFiles) || 30

const FILES = { type: 'object', required: ['files'], properties: { files: { type: 'array', items: { type: 'string' } } } }
// The findings convention (docs/script-api.md, "Findings"), copied as is: Foreman's checks,
// comments and SARIF read these fields of a workflow's result.
const FINDING = { type: 'object', required: ['file', 'title', 'detail'], properties: { file: { type: 'string' }, line: { type: 'number' }, title: { type: 'string' }, severity: { enum: ['critical', 'high', 'medium', 'low'] }, detail: { type: 'string' } } }
const findingsOf = (item) => ({ type: 'object', required: ['findings'], properties: { findings: { type: 'array', items: item } } })
const FINDINGS = findingsOf(FINDING)
const VERDICT = { type: 'object', required: ['verdict', 'reason'], properties: { verdict: { enum: ['real', 'false-positive'] }, reason: { type: 'string' } } }

phase('Map')
const map = await agent(
  `List the source files of this repository that are most relevant to auditing it for: ${concern}.\n` +
    `Use list_files and search. Give at most ${maxFiles} paths, most relevant first, relative to the repository root.`,
  { schema: FILES, label: 'map files', model: 'haiku' },
)
const files = map ? map.files.slice(0, maxFiles) : []
log(`auditing ${files.length} files for ${concern}`)

const checked = await pipeline(
  files,
  (file) =>
    agent(
      `Audit ${file} for problems with: ${concern}.\n` +
        'Read the file and whatever it calls that matters. Report only concrete problems you can point at ' +
        '(file, line, what goes wrong and when). An empty list is a good answer when the file is fine.',
      { label: file, phase: 'Audit', schema: FINDINGS },
    ),
  // No barrier: each file's findings are verified as soon as its audit is done.
  (report, file) =>
    parallel(
      (report ? report.findings : []).map((finding) => async () => {
        const verdict = await agent(
          `Another reviewer reported this problem in ${finding.file}${finding.line ? ` line ${finding.line}` : ''}:\n\n` +
            `${finding.title}\n${finding.detail}\n\n` +
            'Try to refute it: read the code and decide whether it is a real problem or a false positive ' +
            '(unreachable, already handled elsewhere, misread). Say "real" only if you could not refute it.',
          { label: `verify ${file}: ${finding.title}`, phase: 'Verify', schema: VERDICT, model: 'haiku' },
        )
        return verdict && verdict.verdict === 'real' ? { ...finding, verification: verdict.reason } : null
      }),
    ),
)

const findings = checked.filter(Boolean).flat().filter(Boolean)
log(`${findings.length} findings survived verification`)
return { concern, files, findings }
