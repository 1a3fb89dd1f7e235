export const meta = {
  name: 'fix-findings',
  description: 'Fix each finding in its own worktree; two reviewers try to refute each fix, the build and tests gate it, survivors are proposed',
  whenToUse: 'args: { findings: [{ file, line?, title, detail? }] } or the result of an audit run (--from-run <runId>)',
  args: 'required',
  phases: [{ title: 'Fix' }, { title: 'Review' }],
}

const findings = Array.isArray(args) ? args : args && args.findings
if (!Array.isArray(findings) || findings.length === 0) {
  throw new Error(
    'fix-findings needs findings: --args \'{"findings":[{"file":"src/a.js","title":"..."}]}\', ' +
      'or --from-run <runId> of an audit or security-sweep run',
  )
}
const reviewers = (args && args.reviewers) || 2

phase('Fix')
const outcomes = await parallel(
  findings.map((finding) => () => {
    const where = `${finding.file}${finding.line ? ` line ${finding.line}` : ''}`
    const details = [finding.title, finding.detail, finding.cwe ? `(${finding.cwe})` : ''].filter(Boolean).join('\n')
    return fix(
      `Fix this problem in ${where}:\n\n${details}\n\n` +
        'Make the smallest change that fixes it, keep the existing style, and add or update a test that ' +
        'fails without the fix when the project has tests.',
      {
        label: `${finding.file}: ${finding.title}`,
        title: `Fix: ${finding.title}`,
        body: `Finding in \`${where}\`${finding.severity ? ` (${finding.severity})` : ''}:\n\n${details}`,
        reviewers,
        reviewPhase: 'Review',
      },
    )
  }),
)

const fixes = findings.map((finding, i) => {
  const outcome = outcomes[i]
  return {
    finding,
    status: outcome ? outcome.status : 'failed',
    branch: outcome && outcome.pr ? outcome.pr.branch : null,
    pr: outcome && outcome.pr && outcome.pr.pr ? outcome.pr.pr.url : null,
    ...(outcome && outcome.error ? { error: outcome.error } : {}),
  }
})
const count = (status) => fixes.filter((f) => f.status === status).length
log(`${count('proposed')} proposed, ${count('refuted')} refuted, ${count('gate-failed')} failed the gate, ${count('unchanged')} unchanged, ${count('failed')} failed`)
return { fixes }
