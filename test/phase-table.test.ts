// One phase-table model, three views: the terminal's live table, the check run and progress
// comment (Markdown), the Action's job summary (HTML cells). Each view's text is pinned to what
// its renderer printed before the three were one, and all three show the model's figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunSummary } from '../src/runtime/progress.ts';
import { phaseTable, phaseTableHtml, phaseTableMarkdown, phaseTableText } from '../src/report/phase-table.ts';
import { renderPhaseTable } from '../src/cli/output.ts';

const usage = (input: number, output: number) => ({ input, output, cacheRead: 0, cacheWrite: 0 });
const summary: RunSummary = {
  phases: [
    { title: 'Scan | <b>src</b>', agents: 3, done: 2, failed: 1, stopped: 0, replayed: 0, refused: 0, running: 0, queued: 0, tokens: 12_345, usage: usage(10_000, 2_345), costUsd: 0.0123, elapsedMs: 4_200 },
    { title: 'Verify', agents: 2, done: 0, failed: 0, stopped: 1, replayed: 0, refused: 0, running: 1, queued: 0, tokens: 1_500_000, usage: usage(1_000_000, 500_000), costUsd: 12.5, elapsedMs: 95_000 },
  ],
  agents: 5,
  usage: usage(1_010_000, 502_345),
  costUsd: 12.5123,
  elapsedMs: 99_200,
};

test('the text view is the CLI live table, its stopped column only once an agent was stopped', () => {
  assert.equal(renderPhaseTable, phaseTableText);
  assert.equal(
    phaseTableText(summary),
    [
      'phase              done  failed  stopped  running  queued  tokens     cost  elapsed',
      'Scan | <b>src</b>     2       1        0        0       0   12.3k  $0.0123     4.2s',
      'Verify                0       0        1        1       0    1.5M   $12.50    1m35s',
      'total                 2       1        1        1       0    1.5M   $12.51    1m39s',
    ].join('\n'),
  );
  const noStop = { ...summary, phases: summary.phases.map((p) => ({ ...p, stopped: 0 })) };
  assert.equal(phaseTableText(noStop).split('\n')[0], 'phase              done  failed  running  queued  tokens     cost  elapsed');
});

test('the Markdown view links each phase to its check, with inert titles and the totals that add up', () => {
  assert.equal(
    phaseTableMarkdown(summary, (title) => (title === 'Verify' ? 'https://github.com/o/r/runs/2' : null)),
    [
      '| phase | done | failed | stopped | running | queued | tokens | cost | time |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      '| Scan \\| \\<b>src\\</b> | 2 | 1 | 0 | 0 | 0 | 12.3k | $0.0123 | 4.2s |',
      '| [Verify](https://github.com/o/r/runs/2) | 0 | 0 | 1 | 1 | 0 | 1.5M | $12.50 | 1m35s |',
      '| **total** | 2 | | | | | 1.5M | $12.51 | 1m39s |',
    ].join('\n'),
  );
  assert.equal(phaseTableMarkdown({ ...summary, phases: [] }, () => null), '_No agents yet._');
});

test('the HTML view is the job summary table, titles escaped', () => {
  assert.deepEqual(phaseTableHtml(summary), [
    ['phase', 'agents', 'failed', 'tokens', 'cost', 'time'].map((data) => ({ data, header: true })),
    ['Scan | &lt;b&gt;src&lt;/b&gt;', '3', '1', '12.3k', '$0.0123', '4.2s'],
    ['Verify', '2', '0', '1.5M', '$12.50', '1m35s'],
    ['total', '5', '1', '1.5M', '$12.51', '1m39s'],
  ]);
});

test('each view shows the figures of the one model', () => {
  const model = phaseTable(summary, ['agents', 'done', 'failed', 'tokens', 'cost', 'time']);
  assert.deepEqual(model.rows.map((r) => r.title), ['Scan | <b>src</b>', 'Verify']);
  assert.deepEqual(model.total, ['5', '2', '1', '1.5M', '$12.51', '1m39s']);
  for (const [i, row] of model.rows.entries()) {
    const [agents, done, failed, tokens, cost, time] = row.cells;
    assert.deepEqual(phaseTableText(summary).split('\n')[i + 1].trim().split(/\s+/).slice(-3), [tokens, cost, time]);
    assert.ok(phaseTableMarkdown(summary, () => null).split('\n')[i + 2].endsWith(`| ${tokens} | ${cost} | ${time} |`));
    assert.deepEqual(phaseTableHtml(summary)[i + 1].slice(1), [agents, failed, tokens, cost, time]);
    assert.ok(phaseTableMarkdown(summary, () => null).split('\n')[i + 2].includes(`| ${done} | ${failed} |`));
  }
});

test('web searches and fetches get a column in every view once a run made one, with their total', () => {
  const searched: RunSummary = {
    ...summary,
    phases: [{ ...summary.phases[0], usage: { ...summary.phases[0].usage, webSearches: 3 } }, { ...summary.phases[1], usage: { ...summary.phases[1].usage, webSearches: 2, webFetches: 1 } }],
    usage: { ...summary.usage, webSearches: 5, webFetches: 1 },
  };
  const markdown = phaseTableMarkdown(searched, () => null).split('\n');
  assert.equal(markdown[0], '| phase | done | failed | stopped | running | queued | tokens | searches | fetches | cost | time |');
  assert.equal(markdown[2], '| Scan \\| \\<b>src\\</b> | 2 | 1 | 0 | 0 | 0 | 12.3k | 3 | 0 | $0.0123 | 4.2s |');
  assert.equal(markdown.at(-1), '| **total** | 2 | | | | | 1.5M | 5 | 1 | $12.51 | 1m39s |');
  assert.match(phaseTableText(searched).split('\n')[0], /tokens {2}searches {2}fetches {5}cost/);
  assert.deepEqual(phaseTableHtml(searched)[0].map((cell) => (typeof cell === 'string' ? cell : cell.data)), ['phase', 'agents', 'failed', 'tokens', 'searches', 'fetches', 'cost', 'time']);
  // Only the kind the run used: searches without fetches.
  const searchesOnly = { ...searched, usage: { ...searched.usage, webFetches: undefined } };
  assert.doesNotMatch(phaseTableMarkdown(searchesOnly, () => null).split('\n')[0], /fetches/);
});

test('the cache gets a column in every view once a run read or wrote it: the share of prompt tokens read, then tokens read and written', () => {
  const queued = { title: 'Later', agents: 1, done: 0, failed: 0, stopped: 0, replayed: 0, refused: 0, running: 0, queued: 1, tokens: 0, usage: usage(0, 0), costUsd: 0, elapsedMs: 0 };
  const cached: RunSummary = {
    ...summary,
    // 8,000 of 10,000 prompt tokens read from the cache: 80%.
    phases: [{ ...summary.phases[0], usage: { input: 1_000, output: 2_345, cacheRead: 8_000, cacheWrite: 1_000, cacheWrite1h: 400 } }, summary.phases[1], queued],
    usage: { input: 1_001_000, output: 502_345, cacheRead: 8_000, cacheWrite: 1_000, cacheWrite1h: 400 },
  };
  const markdown = phaseTableMarkdown(cached, () => null).split('\n');
  assert.equal(markdown[0], '| phase | done | failed | stopped | running | queued | tokens | cache | cost | time |');
  assert.equal(markdown[2], '| Scan \\| \\<b>src\\</b> | 2 | 1 | 0 | 0 | 0 | 12.3k | 80% r8.0k w1.0k | $0.0123 | 4.2s |');
  // A phase that used no cache reads 0%; one with no prompt tokens yet has no share at all.
  assert.equal(markdown[3], '| Verify | 0 | 0 | 1 | 1 | 0 | 1.5M | 0% r0 w0 | $12.50 | 1m35s |');
  assert.equal(markdown[4], '| Later | 0 | 0 | 0 | 0 | 1 | 0 | – | $0.0000 | 0.0s |');
  // The run: 8,000 of 1,010,000 prompt tokens.
  assert.equal(markdown.at(-1), '| **total** | 2 | | | | | 1.5M | 1% r8.0k w1.0k | $12.51 | 1m39s |');
  assert.equal(
    phaseTableText(cached),
    [
      'phase              done  failed  stopped  running  queued  tokens            cache     cost  elapsed',
      'Scan | <b>src</b>     2       1        0        0       0   12.3k  80% r8.0k w1.0k  $0.0123     4.2s',
      'Verify                0       0        1        1       0    1.5M         0% r0 w0   $12.50    1m35s',
      'Later                 0       0        0        0       1       0                –  $0.0000     0.0s',
      'total                 2       1        1        1       1    1.5M   1% r8.0k w1.0k   $12.51    1m39s',
    ].join('\n'),
  );
  assert.deepEqual(phaseTableHtml(cached)[0].map((cell) => (typeof cell === 'string' ? cell : cell.data)), ['phase', 'agents', 'failed', 'tokens', 'cache', 'cost', 'time']);
  assert.deepEqual(phaseTableHtml(cached).at(-1), ['total', '5', '1', '1.5M', '1% r8.0k w1.0k', '$12.51', '1m39s']);
  // A run that never touched the cache keeps its table as it was.
  assert.doesNotMatch(phaseTableMarkdown(summary, () => null).split('\n')[0], /cache/);
});
