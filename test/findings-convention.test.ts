// The findings schema is one convention (docs/script-api.md, "Findings"): the built-in workflows
// hold verbatim copies of its two lines (a saved workflow cannot import), and what it describes is
// what Foreman shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { findingsOf } from '../src/report/findings.ts';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const docs = read('docs/script-api.md');
const section = docs.slice(docs.indexOf('\n## Findings\n'), docs.indexOf('\n## Determinism\n'));
const conventionLine = (name: string) => {
  const line = section.split('\n').find((l) => l.startsWith(`const ${name} = `));
  assert.ok(line, `docs/script-api.md's Findings section declares ${name}`);
  return line;
};
const CONVENTION = [conventionLine('FINDING'), conventionLine('findingsOf')];

test('each built-in workflow that reports findings has the documented convention, copied as is', () => {
  for (const workflow of ['audit', 'review-pr', 'security-sweep']) {
    const source = read(`workflows/${workflow}.js`);
    for (const line of CONVENTION) assert.ok(source.split('\n').includes(line), `workflows/${workflow}.js copies: ${line}`);
    assert.doesNotMatch(source, /^ {6}items: \{\n {8}type: 'object',/m, `workflows/${workflow}.js has no second findings schema of its own`);
  }
});

test('a result the convention allows is what Foreman shows as findings', () => {
  const schema = new Function(`${CONVENTION.join('\n')}\nreturn findingsOf(FINDING)`)();
  const validate = new Ajv2020({ strict: false }).compile(schema);
  const result = { findings: [{ file: 'src/a.js', line: 3, title: 'SQL built from input', severity: 'high', detail: 'user input reaches query()' }, { file: 'b.js', title: 'no line', detail: '' }] };
  assert.ok(validate(result), JSON.stringify(validate.errors));
  assert.deepEqual(findingsOf(result), [
    { file: 'src/a.js', line: 3, title: 'SQL built from input', detail: 'user input reaches query()', severity: 'high', ruleId: null },
    { file: 'b.js', line: null, title: 'no line', detail: '', severity: null, ruleId: null },
  ]);
  assert.equal(validate({ findings: [{ file: 'a.js', title: 'no detail' }] }), false);
});
