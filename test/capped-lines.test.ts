import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { cappedLines, type CappedLine } from '../src/text/capped-lines.ts';

async function split(chunks: string[], keep = 5): Promise<CappedLine[]> {
  const out: CappedLine[] = [];
  for await (const line of cappedLines((async function* () { yield* chunks; })(), keep)) out.push(line);
  return out;
}

const lines = (...texts: string[]) => texts.map((text) => ({ text, cut: false }));

test('splits on \\n, \\r\\n and a lone \\r as readline does, however the chunks fall', async () => {
  const whole = 'a\r\nbb\rccc\n\nd';
  const expected = lines('a', 'bb', 'ccc', '', 'd');
  assert.deepEqual(await split([whole]), expected);
  // Every way of cutting the text in two, including between \r and \n.
  for (let at = 0; at <= whole.length; at++) assert.deepEqual(await split([whole.slice(0, at), whole.slice(at)]), expected, `cut at ${at}`);
  assert.deepEqual(await split([...whole]), expected, 'one character per chunk');
});

test('a final line break adds no empty line; an empty stream has no lines', async () => {
  assert.deepEqual(await split(['x\n']), lines('x'));
  assert.deepEqual(await split(['x\r\n']), lines('x'));
  assert.deepEqual(await split(['']), []);
  assert.deepEqual(await split([]), []);
  assert.deepEqual(await split(['\n']), lines(''));
});

test('a long line is cut to its first characters and marked, across chunks', async () => {
  assert.deepEqual(await split(['abc', 'defgh', 'ij\nshort\n'], 5), [{ text: 'abcde', cut: true }, { text: 'short', cut: false }]);
  assert.deepEqual(await split(['abcde\n'], 5), lines('abcde'));
});

test('read_file on a one-line file larger than the heap answers with the cut line instead of running out of memory', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'foreman-long-line-'));
  try {
    // 96 MB in one line: readline would build it whole, more than the 64 MB heap the reader gets.
    const file = await open(path.join(dir, 'dump.min.js'), 'w');
    const block = Buffer.alloc(1 << 20, 'x');
    for (let i = 0; i < 96; i++) await file.write(block);
    await file.write('\nsecond line\n');
    await file.close();
    const tools = new URL('../src/agents/tools.ts', import.meta.url).href;
    const script = `const { executeTool } = await import(${JSON.stringify(tools)});
      const result = await executeTool('read_file', { path: 'dump.min.js' }, { root: ${JSON.stringify(dir)} });
      process.stdout.write(JSON.stringify(result));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--max-old-space-size=64', '--input-type=module', '-e', script], { maxBuffer: 1 << 20 });
    const result = JSON.parse(stdout) as { output: string; isError: boolean };
    assert.equal(result.isError, false);
    const [first, second] = result.output.split('\n');
    assert.match(first!, /^\s+1\tx{2000}… \[line truncated\]$/);
    assert.equal(second, '     2\tsecond line');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
