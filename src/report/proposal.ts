// What a verified change looks like to the people who review it: the pull request body, the
// commit message and the branch name. Pure functions of their inputs, so a resumed run renders
// the same text and the proposal commit keeps the same sha.
import type { ChangeFile, GateResult, GateStep, ProposalVote } from '../contracts/ports.ts';
import { inertMarkdown } from './inert-markdown.ts';
import { codeFence, cutAtLine, escapeHtml, inlineCode as code, oneLine, tableCell } from './markdown.ts';

/** GitHub refuses a pull request body longer than this. */
export const MAX_PR_BODY_CHARS = 65_536;

/**
 * Separates the script's own text from Foreman's report in a rendered body. An HTML comment, so
 * it is invisible on GitHub; proposers cut there to keep tables and gate logs out of commit messages.
 */
const REPORT_MARKER = '<!-- foreman:report -->';

/** A pull request touching thousands of files still needs a body GitHub accepts. */
const MAX_FILE_ROWS = 300;
/** Reviewer reasons are model output; one runaway answer must not crowd out the gate section. */
const MAX_REASON_CHARS = 1_000;
const MAX_SUBJECT_CHARS = 72;
/** GitHub refuses longer pull request titles. */
const MAX_TITLE_CHARS = 256;
const MAX_SLUG_CHARS = 40;

export interface ProposalBodyInput {
  /** The script's body (for fix(): the finding and the reviewers' verdicts). */
  body: string;
  runId: string;
  changeId: string;
  label: string;
  files: ChangeFile[];
  gate: GateResult | null;
  costUsd: number;
  votes?: ProposalVote[];
  /** URLs the repository already holds (urlsIn): the script's links to them stay links. */
  keepUrls?: ReadonlySet<string>;
}

export function renderProposalBody(input: ProposalBodyInput): string {
  // The script's text is the model's: no image or link it made may fetch or point anywhere
  // (inert-markdown.ts). A marker inside it (in code, where it stays as written) would make
  // proposalCommitBody() cut in the wrong place.
  const source = normaliseNewlines(input.body).split(REPORT_MARKER).join('<!-- foreman report -->').trim();
  const keep = input.keepUrls ? { keep: input.keepUrls } : {};
  const body = inertMarkdown(source, keep);
  const step = outputStep(input.gate);
  const output = step ? cleanOutput(step.output) : null;
  const compose = (scriptBody: string, tail: Tail | null): string =>
    [
      scriptBody,
      REPORT_MARKER,
      input.votes ? renderVotes(input.votes) : '',
      renderGate(input.gate, step, tail),
      renderFiles(input.files),
      `### Cost\n\n**${formatUsd(input.costUsd)}** — every agent that wrote or reviewed this change.`,
      `---\n<sub>Proposed by Foreman · run ${code(input.runId)} · change ${code(input.changeId)} · ${code(oneLine(input.label))}</sub>`,
    ]
      .filter(Boolean)
      .join('\n\n') + '\n';

  const whole = compose(body, output === null ? null : { text: output, cut: 0 });
  if (whole.length <= MAX_PR_BODY_CHARS) return whole;

  // The gate log goes first: its tail is what explains the result, and the head is noise.
  if (output !== null) {
    let room = MAX_PR_BODY_CHARS - compose(body, { text: '', cut: output.length }).length;
    while (room > 0) {
      const tail = tailOf(output, room);
      const text = compose(body, tail);
      if (text.length <= MAX_PR_BODY_CHARS) return text;
      // The fence grows with the backticks in what is kept; take off what overflowed and retry.
      room -= text.length - MAX_PR_BODY_CHARS;
    }
  }

  // Still too long without any log: the script's own text is cut, the report stays whole.
  const dropped: Tail | null = output === null ? null : { text: '', cut: -1 };
  const room = MAX_PR_BODY_CHARS - compose('', dropped).length - 200;
  const kept = inertMarkdown(source, { ...keep, maxChars: Math.max(0, room) });
  const truncated = `${kept}\n\n*… ${(body.length - kept.length).toLocaleString('en-US')} characters of this description were cut to fit GitHub's limit.*`;
  const text = compose(truncated, dropped);
  return text.length <= MAX_PR_BODY_CHARS ? text : cutAtLine(text, MAX_PR_BODY_CHARS);
}

/** The part of a rendered body that belongs in the commit message: the script's own text. */
export function proposalCommitBody(renderedBody: string): string {
  const at = renderedBody.indexOf(REPORT_MARKER);
  return (at < 0 ? renderedBody : renderedBody.slice(0, at)).trim();
}

export function renderCommitMessage(input: { title: string; body: string; runId: string; changeId: string }): string {
  const title = oneLine(input.title) || `Foreman change ${oneLine(input.changeId)}`;
  let subject = title;
  let lead = '';
  if (title.length > MAX_SUBJECT_CHARS) {
    // Tools cut long subjects mid-word; cut at a word ourselves and keep the whole title below.
    const cut = title.slice(0, MAX_SUBJECT_CHARS - 1);
    const space = cut.lastIndexOf(' ');
    subject = `${(space > MAX_SUBJECT_CHARS / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
    lead = title;
  }
  const body = normaliseNewlines(input.body)
    .replace(/\0/g, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
  // Trailers are only trailers in the last paragraph; the blank line before them makes sure.
  const trailers = `Foreman-Run: ${oneLine(input.runId)}\nForeman-Change: ${oneLine(input.changeId)}`;
  return [subject, lead, body, trailers].filter(Boolean).join('\n\n') + '\n';
}

/** The pull request title: one line GitHub accepts, never empty. */
export function proposalTitle(title: string, changeId: string): string {
  const line = oneLine(title) || `Foreman change ${oneLine(changeId)}`;
  return line.length <= MAX_TITLE_CHARS ? line : `${safeSlice(line, MAX_TITLE_CHARS - 1)}…`;
}

/** Lowercase ASCII words joined by dashes, at most 40 characters, never empty. */
export function branchSlug(title: string): string {
  const words = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (words.length <= MAX_SLUG_CHARS) return words || 'change';
  const cut = words.slice(0, MAX_SLUG_CHARS + 1);
  const dash = cut.lastIndexOf('-');
  // Prefer a whole word, unless that throws most of the slug away.
  const slug = (dash >= MAX_SLUG_CHARS / 2 ? cut.slice(0, dash) : cut.slice(0, MAX_SLUG_CHARS)).replace(/-+$/, '');
  return slug || 'change';
}

/** foreman/<runId>/<changeId>-<slug>: the change id keeps two fixes with the same title apart. */
export function proposalBranch(runId: string, changeId: string, title: string): string {
  return `${proposalBranchPrefix(runId, changeId)}${branchSlug(title)}`;
}

/** What every proposal branch of one change starts with; the slug of its title follows. */
export const proposalBranchPrefix = (runId: string, changeId: string): string => `foreman/${runId}/${changeId}-`;

// ---- sections -------------------------------------------------------------------------------

/** Gate output as shown: the tail that is kept, and how many characters before it were cut. */
interface Tail {
  text: string;
  /** -1: the whole log was left out. */
  cut: number;
}

function renderVotes(votes: ProposalVote[]): string {
  const accepted = votes.filter((vote) => vote.accepted).length;
  const rows = votes.map((vote, index) => {
    let reason = oneLine(vote.reason);
    if (reason.length > MAX_REASON_CHARS) reason = `${safeSlice(reason, MAX_REASON_CHARS)}…`;
    return `| ${index + 1} | ${vote.accepted ? '✅ accepted' : '❌ refuted'} | ${tableCell(reason) || '—'} |`;
  });
  return [`### Reviewers: ${accepted} of ${votes.length} accepted`, '', '| # | Verdict | Reason |', '| ---: | --- | --- |', ...rows].join('\n');
}

function renderGate(gate: GateResult | null, step: GateStep | null, tail: Tail | null): string {
  if (!gate) return '### Gate\n\nNot run.';
  const heading = `### Gate: ${gate.passed ? '✅ passed' : '❌ failed'}`;
  if (gate.steps.length === 0) return `${heading}\n\nNo steps ran: no setup, build or test command was configured or detected.`;
  const rows = gate.steps.map(
    (s) => `| ${s.name}${s.reused ? ' (cached)' : ''} | ${code(oneLine(s.command), true)} | ${s.exitCode === null ? 'killed' : s.exitCode} | ${formatDuration(s.durationMs)} |`,
  );
  const table = ['| Step | Command | Exit code | Duration |', '| --- | --- | ---: | ---: |', ...rows].join('\n');
  if (!step || !tail) return `${heading}\n\n${table}`;
  const which = step.exitCode !== 0 ? `Output of the failing step, ${escapeHtml(step.name)}` : `Output of ${escapeHtml(step.name)}`;
  if (tail.cut < 0) return `${heading}\n\n${table}\n\n*${which} left out to fit GitHub's size limit.*`;
  const note = tail.cut > 0 ? `[… ${tail.cut.toLocaleString('en-US')} earlier characters cut to fit GitHub's size limit]\n` : '';
  const shown = note + (tail.text || '(no output)');
  // A fence longer than any backtick run in the log cannot be closed by the log (CommonMark).
  const fence = codeFence(shown);
  // The blank lines make GitHub read the code block as Markdown inside the HTML block.
  const details = `<details><summary>${which}</summary>\n\n${fence}text\n${shown.replace(/\n$/, '')}\n${fence}\n\n</details>`;
  return `${heading}\n\n${table}\n\n${details}`;
}

function renderFiles(files: ChangeFile[]): string {
  const additions = files.reduce((sum, file) => sum + file.additions, 0);
  const deletions = files.reduce((sum, file) => sum + file.deletions, 0);
  const rows = files.slice(0, MAX_FILE_ROWS).map((file) => `| ${code(oneLine(file.path), true)} | +${file.additions} | −${file.deletions} |`);
  if (files.length > MAX_FILE_ROWS) rows.push(`| … and ${files.length - MAX_FILE_ROWS} more files | | |`);
  const total = `| **${files.length} ${files.length === 1 ? 'file' : 'files'}** | **+${additions}** | **−${deletions}** |`;
  return ['### Files changed', '', '| File | + | − |', '| --- | ---: | ---: |', ...rows, total].join('\n');
}

/** The step whose output explains the result: the first that failed, else the last. */
function outputStep(gate: GateResult | null): GateStep | null {
  if (!gate || gate.steps.length === 0) return null;
  return gate.steps.find((step) => step.exitCode !== 0) ?? gate.steps[gate.steps.length - 1];
}

// ---- text helpers ---------------------------------------------------------------------------

/** Terminal output as a reader would have seen it: no colour codes, progress bars settled. */
function cleanOutput(output: string): string {
  return output
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '')
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\r\n/g, '\n')
    .split('\n')
    // A carriage return redraws the line: keep what was drawn last.
    .map((line) => line.split('\r').filter(Boolean).pop() ?? '')
    .join('\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

/** The last `room` characters, starting at a line when that loses little. */
function tailOf(text: string, room: number): Tail {
  if (text.length <= room) return { text, cut: 0 };
  let start = text.length - room;
  const newline = text.indexOf('\n', start);
  if (newline >= 0 && newline - start < 200) start = newline + 1;
  if (isLowSurrogate(text.charCodeAt(start))) start += 1;
  return { text: text.slice(start), cut: start };
}

function normaliseNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}


function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** slice() that never leaves half of a surrogate pair at the end. */
function safeSlice(text: string, end: number): string {
  return isLowSurrogate(text.charCodeAt(end)) ? text.slice(0, end - 1) : text.slice(0, end);
}

function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1_000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

function formatUsd(usd: number): string {
  if (!Number.isFinite(usd) || usd <= 0) return '$0.00';
  // Cents hide what a cheap change cost; four decimals show it.
  return usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}
