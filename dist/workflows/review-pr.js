export const meta = {
  name: 'review-pr',
  description: 'Review the changes of a pull request file by file; keep only the findings a skeptic could not refute',
  readOnly: true,
  whenToUse: 'args: { diff, title?, body? } or the unified diff itself; from the CLI: foreman run review-pr --diff-from main; on GitHub the PR supplies it',
  args: 'required',
  phases: [{ title: 'Review' }, { title: 'Verify' }],
}

const diff = typeof args === 'string' ? args : args && args.diff
if (typeof diff !== 'string' || !diff.includes('diff --git ')) {
  throw new Error('review-pr needs the diff to review: foreman run review-pr --diff-from <base branch> (with --base <head>, default HEAD)')
}
const intent = args && typeof args === 'object' ? [args.title, args.body].filter(Boolean).join('\n\n') : ''

// One entry per file of the diff, with its own part of the diff.
const files = []
for (const part of diff.split(/^(?=diff --git )/m)) {
  const header = /^diff --git a\/(.+?) b\/(.+)$/m.exec(part)
  if (!header) continue
  if (/^deleted file mode/m.test(part)) continue
  files.push({ path: header[2], patch: part.length > 20000 ? `${part.slice(0, 20000)}\n… (truncated)` : part })
}

// The findings convention (docs/script-api.md, "Findings"), copied as is: Foreman's checks,
// comments and SARIF read these fields of a workflow's result.
const FINDING = { type: 'object', required: ['file', 'title', 'detail'], properties: { file: { type: 'string' }, line: { type: 'number' }, title: { type: 'string' }, severity: { enum: ['critical', 'high', 'medium', 'low'] }, detail: { type: 'string' } } }
const findingsOf = (item) => ({ type: 'object', required: ['findings'], properties: { findings: { type: 'array', items: item } } })
const FINDINGS = findingsOf(FINDING)
const VERDICT = { type: 'object', required: ['verdict', 'reason'], properties: { verdict: { enum: ['real', 'false-positive'] }, reason: { type: 'string' } } }

phase('Review')
log(`reviewing ${files.length} changed files`)
const checked = await pipeline(
  files,
  (file) =>
    agent(
      `Review this change to ${file.path}${intent ? ` in a pull request that says:\n\n${intent}\n\n` : '.\n\n'}` +
        '```diff\n' + file.patch + '\n```\n\n' +
        'The repository is checked out with the change applied: read the file and its callers. Report bugs, ' +
        'regressions and security problems the change introduces, on the new lines, with the line number in ' +
        'the new file. Not style. An empty list is a good answer.',
      { label: file.path, phase: 'Review', schema: FINDINGS },
    ),
  (report, file) =>
    parallel(
      (report ? report.findings : []).map((finding) => async () => {
        const verdict = await agent(
          `A reviewer reported this about the change to ${file.path}${finding.line ? ` (line ${finding.line})` : ''}:\n\n` +
            `${finding.title}\n${finding.detail}\n\nTry to refute it by reading the code. Say "real" only if you could not.`,
          { label: `verify ${file.path}: ${finding.title}`, phase: 'Verify', schema: VERDICT, model: 'haiku' },
        )
        return verdict && verdict.verdict === 'real' ? { ...finding, file: finding.file || file.path, verification: verdict.reason } : null
      }),
    ),
)
const findings = checked.filter(Boolean).flat().filter(Boolean)
log(`${findings.length} findings survived verification`)
return { files: files.map((f) => f.path), findings }
