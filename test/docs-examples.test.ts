// Every ```js example in the user docs is a whole workflow script that runs: the real CLI runs
// each against a small repository, with a fake model that answers whatever a script asks.
// A script whose answers need more than "a value of the requested schema" does not belong in
// the docs without a test of its own.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startFakeAnthropic, text, toolUse, type FakeReply, type FakeRequest } from './support/fake-anthropic.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { runCli } from './support/cli.ts';
import { validateScript } from '../src/workflows/validate.ts';

const DOCS = ['docs/script-api.md', 'README.md'];

const examples = DOCS.flatMap((doc) => {
  const markdown = readFileSync(new URL(`../${doc}`, import.meta.url), 'utf8');
  return [...markdown.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((match) => ({
    doc,
    line: markdown.slice(0, match.index).split('\n').length + 1,
    source: match[1],
  }));
});

// A package whose test fails until add() adds: the gate passes only with the write agent's fix.
const REPO = {
  'package.json': JSON.stringify({ name: 'docs-example', version: '1.0.0', type: 'module', scripts: { test: 'node --test' } }, null, 2),
  'src/math.js': '// TODO: add() subtracts\nexport const add = (a, b) => a - b\n',
  'math.test.js': "import { test } from 'node:test'\nimport assert from 'node:assert/strict'\nimport { add } from './src/math.js'\ntest('add', () => assert.equal(add(1, 2), 3))\n",
};
const FIXED_MATH = 'export const add = (a, b) => a + b\n';

/** The smallest value of a JSON Schema: the first enum value (so a reviewer's verdict is 'accept'), one array item, every property. */
function sampleOf(schema: any): unknown {
  if (Array.isArray(schema?.enum)) return schema.enum[0];
  switch (schema?.type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, value]) => [key, sampleOf(value)]));
    case 'array':
      return [sampleOf(schema.items)];
    case 'string':
      return 'src/math.js';
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    default:
      return null;
  }
}

function play(req: FakeRequest): FakeReply {
  const schema = req.body.tools?.find((tool: { name: string }) => tool.name === 'submit_result')?.input_schema;
  if (req.tools.includes('write_file') && req.turn === 0) return [toolUse('write_file', { path: 'src/math.js', content: FIXED_MATH })];
  if (schema) return [toolUse('submit_result', sampleOf(schema))];
  return [text('src/math.js: add() subtracts instead of adding')];
}

const fake = await startFakeAnthropic({ handler: play });
after(() => fake.close());

test('the docs have js examples to run', () => {
  assert.ok(examples.length >= 2, `found ${examples.length} js examples in ${DOCS.join(', ')}`);
});

for (const example of examples) {
  test(`${example.doc}:${example.line}: the js example is a valid script that runs to completion`, async () => {
    const { meta } = validateScript(example.source, `${example.doc} (the example at line ${example.line})`);
    const repo = makeRepo({ ...REPO, [`.claude/workflows/${meta.name}.js`]: example.source });
    const res = await runCli(['run', meta.name, '--repo', repo, '--json'], { home: tempDir(), baseURL: fake.url });
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    assert.equal(out.status, 'completed', res.stderr);
    assert.ok(out.agents > 0, 'the example ran agents');
    assert.doesNotMatch(res.stderr, /^warn /m, 'no item of parallel() or pipeline() failed');
  });
}
