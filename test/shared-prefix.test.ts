import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentCacheTtl, runCacheTtl } from '../src/agents/cache-ttl.ts';
import { MIN_SHARED_PREFIX_CHARS, REUSE_GAP_FOR_LONG_TTL_MS, SharedPrefixes, sharedCut } from '../src/agents/shared-prefix.ts';

const PREAMBLE = 'Review the change below against these rules.\n' + 'Rule: no secrets in logs. '.repeat(40) + '\nFile: ';

describe('shared prompt prefixes', () => {
  test('the common start of two prompts is cut back to a word boundary, never into an item', () => {
    const a = `${PREAMBLE}src/auth/login.ts`;
    const b = `${PREAMBLE}src/auth/logout.ts`;
    assert.equal(b.slice(0, sharedCut(a, b)), PREAMBLE);
    assert.equal(sharedCut('same words', 'same words'), 'same words'.length);
    assert.equal(sharedCut('abc', 'xyz'), 0);
  });

  test('a prefix is found once two queued prompts share it, and later prompts use the longest one they start with', () => {
    const prefixes = new SharedPrefixes(() => 1_000);
    prefixes.note(`${PREAMBLE}a.ts`);
    assert.equal(prefixes.use(`${PREAMBLE}a.ts`), null, 'one prompt shares nothing yet');
    prefixes.note(`${PREAMBLE}b.ts`);
    const found = prefixes.use(`${PREAMBLE}c.ts`);
    assert.equal(found?.text, PREAMBLE);
    assert.equal(prefixes.use(`${PREAMBLE}a.ts`)?.id, found!.id, 'the first prompt gets it too, once its sibling is queued');
    assert.equal(prefixes.use('Something else entirely, with words'), null);
  });

  test('the first agent of a burst waits one turn only where its prompt may gain a prefix: noted last, long enough, sharing none yet', () => {
    const prefixes = new SharedPrefixes();
    const first = `${PREAMBLE}a.ts`;
    prefixes.note(first);
    assert.equal(prefixes.mayShareSoon(first), true, 'alone so far: its siblings may still be on their way');
    prefixes.note(`${PREAMBLE}b.ts`);
    assert.equal(prefixes.mayShareSoon(first), false, 'a sibling came: it has its prefix');
    assert.equal(prefixes.mayShareSoon(`${PREAMBLE}b.ts`), false, 'it shares one known');
    const unrelated = `${'Something else entirely, with words. '.repeat(10)}`;
    prefixes.note(unrelated);
    assert.equal(prefixes.mayShareSoon(unrelated), true);
    prefixes.note(`${'Yet another long and different prompt. '.repeat(10)}`);
    assert.equal(prefixes.mayShareSoon(unrelated), false, 'not the latest: the burst it came in has been queued');
    const short = 'task 1: reply ok';
    prefixes.note(short);
    assert.equal(prefixes.mayShareSoon(short), false, 'too short to share a preamble: it never waits');
  });

  test('nextNote resolves as the next prompt is noted, or after its limit when none comes', async () => {
    const prefixes = new SharedPrefixes();
    const started = performance.now();
    const waiting = prefixes.nextNote(5_000);
    setTimeout(() => prefixes.note(`${PREAMBLE}b.ts`), 5);
    await waiting;
    assert.ok(performance.now() - started < 1_000, 'woken by the note, not the limit');
    const alone = performance.now();
    await prefixes.nextNote(30);
    assert.ok(performance.now() - alone >= 25, 'no note: the limit ends the wait');
  });

  test('prompts that share only a few words share no prefix', () => {
    const prefixes = new SharedPrefixes();
    const start = 'Explain this file: ';
    for (let i = 0; i < 30; i++) prefixes.note(`${start}${i} ${'x'.repeat(i * 50)}`);
    assert.ok(start.length < MIN_SHARED_PREFIX_CHARS);
    assert.equal(prefixes.use(`${start}31`), null);
  });

  test('what is kept is bounded: a thousand distinct preambles leave at most 256 prefixes while agents wait for them, sixteen once they started', () => {
    const prefixes = new SharedPrefixes();
    const preambles = Array.from({ length: 1_000 }, (_, i) => `Preamble ${i}: ${'rule '.repeat(80)}\nItem: `);
    for (const p of preambles) {
      prefixes.note(`${p}one`);
      prefixes.note(`${p}two`);
    }
    const waited = preambles.filter((p) => prefixes.use(`${p}two`) !== null);
    assert.ok(waited.length <= 256, `${waited.length} prefixes kept`);
    assert.ok(waited.includes(preambles.at(-1)!), 'the newest is kept');
    prefixes.note(`${'another preamble, '.repeat(20)}\nItem: a`);
    prefixes.note(`${'another preamble, '.repeat(20)}\nItem: b`);
    const kept = preambles.filter((p) => prefixes.use(`${p}three`) !== null).length;
    assert.ok(kept <= 16, `${kept} prefixes kept once none is waited for`);
  });

  test('huge prompts are compared up to a cap', () => {
    const huge = 'word '.repeat(200_000);
    assert.ok(sharedCut(huge, huge + 'x') <= 400_000);
  });

  test('a prefix used again after more than four minutes is spaced out: its writes take the hour', () => {
    let now = 0;
    const prefixes = new SharedPrefixes(() => now);
    prefixes.note(`${PREAMBLE}a`);
    prefixes.note(`${PREAMBLE}b`);
    assert.equal(prefixes.use(`${PREAMBLE}a`)?.spacedOut, false);
    now += 60_000;
    assert.equal(prefixes.use(`${PREAMBLE}b`)?.spacedOut, false);
    now += REUSE_GAP_FOR_LONG_TTL_MS + 1;
    const late = prefixes.use(`${PREAMBLE}c`)!;
    assert.equal(late.spacedOut, true);
    assert.equal(agentCacheTtl('5m', late), '1h');
    assert.equal(agentCacheTtl('5m', null), '5m');
  });

  test('the TTL rule: sweeps and resumes take the hour, other runs five minutes', () => {
    assert.equal(runCacheTtl({ sweep: true, resumed: false }), '1h');
    assert.equal(runCacheTtl({ sweep: false, resumed: true }), '1h');
    assert.equal(runCacheTtl({ sweep: false, resumed: false }), '5m');
  });
});

test('text without whitespace is cut where it differs, so a long common run of it is kept rather than compared again and again', () => {
  const blob = 'x'.repeat(5_000);
  assert.equal(sharedCut(`${blob}1`, `${blob}2`), 5_000);
  assert.equal(sharedCut(`${'word '.repeat(100)}abc`, `${'word '.repeat(100)}abd`), 500);
});

test('a cut where the prompts differ never splits a character outside the BMP', () => {
  const blob = '\u{1F600}'.repeat(3_000);
  const cut = sharedCut(`${blob}\u{1F601}`, `${blob}\u{1F602}`);
  assert.equal(cut, blob.length);
  assert.equal(`${blob}\u{1F602}`.slice(0, cut).isWellFormed(), true);
});

test('a short header known first does not hide the long report its siblings share after it', () => {
  const prefixes = new SharedPrefixes();
  const header = `You are a reviewer for this organisation. ${'Be precise. '.repeat(30)}\n`;
  prefixes.note(`${header}Summarize the README.`);
  prefixes.note(`${header}List the modules.`);
  assert.equal(prefixes.use(`${header}anything`)?.text, header);
  const report = `${header}The report to check:\n${'finding: a secret is logged. '.repeat(200)}\nFile: `;
  for (let i = 0; i < 5; i++) prefixes.note(`${report}src/f${i}.ts`);
  assert.equal(prefixes.use(`${report}src/f0.ts`)?.text, report);
});

test('a burst of many preambles keeps every prefix whose agents are still queued', () => {
  const prefixes = new SharedPrefixes();
  const preamble = (r: number) => `Repository ${r}: ${'its conventions are strict. '.repeat(20)}\nFile: `;
  for (let r = 0; r < 20; r++) for (let f = 0; f < 10; f++) prefixes.note(`${preamble(r)}f${f}.ts`);
  for (let r = 0; r < 20; r++) assert.equal(prefixes.use(`${preamble(r)}f0.ts`)?.text, preamble(r), `repository ${r}`);
});

test('a dated model id has its family\'s minimum', async () => {
  const { minimumCacheableTokens } = await import('../src/agents/prompts.ts');
  assert.equal(minimumCacheableTokens('claude-haiku-4-5-20251001'), 4096);
  assert.equal(minimumCacheableTokens('claude-haiku-4-5'), 4096);
  assert.equal(minimumCacheableTokens('claude-sonnet-5-5'), 1024);
});

test('a warm-up leader lapses with the cache entry it wrote: the next burst has a leader again', async () => {
  const { CacheWarmup } = await import('../src/agents/cache-warmup.ts');
  let now = 0;
  const warmup = new CacheWarmup({ maxWaitMs: 50 }, () => now);
  const first = await warmup.enter('k');
  assert.equal(first.leader, true);
  first.started();
  assert.equal((await warmup.enter('k')).leader, false);
  now += 5 * 60_000;
  assert.equal((await warmup.enter('k')).leader, true);
});

test('huge prompts are not held once noted: what is kept of them is the part ever compared', async () => {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  const prefixes = new SharedPrefixes();
  // Sixteen 4 MB prompts (the recent ones kept), then a prefix found in two more.
  for (let i = 0; i < 16; i++) prefixes.note(`${i} ${'x'.repeat(4_000_000)}`);
  const shared = `${'rule '.repeat(100)}\nFile: `;
  prefixes.note(`${shared}a ${'y'.repeat(4_000_000)}`);
  prefixes.note(`${shared}b ${'y'.repeat(4_000_000)}`);
  gc();
  const heldMb = (process.memoryUsage().heapUsed - before) / 1e6;
  assert.ok(heldMb < 30, `${heldMb.toFixed(1)} MB held (the prompts themselves are 72 MB)`);
  assert.ok(prefixes.use(`${shared}c`), 'the prefix is still found');
});

test('a kept prefix holds its own text, not the prompt it was cut from', async () => {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  const prefixes = new SharedPrefixes();
  // 64 preambles of about 1 k characters, each shared by two prompts of 300 k: their agents still
  // queued, so all 64 prefixes are kept (64 k characters), and the 16 recent prompts (4.8 MB).
  for (let i = 0; i < 64; i++) {
    const preamble = `Preamble ${i}: ${'rule '.repeat(200)}\nItem: `;
    prefixes.note(`${preamble}a ${'z'.repeat(300_000)}`);
    prefixes.note(`${preamble}b ${'z'.repeat(300_000)}`);
  }
  gc();
  const heldMb = (process.memoryUsage().heapUsed - before) / 1e6;
  // A prefix that is a slice of its prompt keeps all of it alive: 64 of them, about 19 MB more.
  assert.ok(heldMb < 12, `${heldMb.toFixed(1)} MB held`);
  assert.ok(prefixes.use(`Preamble 0: ${'rule '.repeat(200)}\nItem: c`), 'the first preamble is still known');
});

test('a sibling of a known prefix is compared past it, to the same cut', () => {
  const known = `${'rule '.repeat(100)}\nFile: `;
  assert.equal(sharedCut(`${known}src/a.ts`, `${known}src/b.ts`, known.length), sharedCut(`${known}src/a.ts`, `${known}src/b.ts`));
});
