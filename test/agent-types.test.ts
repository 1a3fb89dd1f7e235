// The agent definition parser, the catalog's lookups and the CLAUDE.md import syntax, alone; the
// whole path (CLI, git, model requests) is test/parity/agent-types.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { loadAgentTypes, parseAgentDefinition } from '../src/agents/agent-types.ts';
import { foremanToolsOf } from '../src/agents/claude-code-tools.ts';
import { directoryFiles, ProjectFileError } from '../src/agents/project-files.ts';
import { importsOf, loadProjectMemory, MAX_MEMORY_FILES } from '../src/agents/project-memory.ts';
import { loadAgentContext, upTheTree } from '../src/service/agent-context.ts';
import { gitIn, makeRepo, tempDir, writeFiles } from './support/repo.ts';

const file = (frontmatter: string, body = 'Prompt.') => `---\n${frontmatter}\n---\n${body}\n`;

test('a definition: name, description, tools as a string or a list, model, and the body as the prompt', () => {
  const listed = parseAgentDefinition(file('name: a\ndescription: A\ntools: Read, Edit, Bash(git log:*), WebFetch'), 'a.md');
  // Bash(git log:*) restricts the command tool to what it says: git log and its arguments.
  assert.deepEqual(listed, { name: 'a', description: 'A', systemPrompt: 'Prompt.', source: 'a.md', tools: ['read_file', 'edit_file', 'run_command', 'web_fetch'], commands: ['git log **'] });
  const rules = parseAgentDefinition(file('name: r\ndescription: R\ntools: Bash(npm test), Bash(rm -rf *), Bash(git status:*)'), 'r.md');
  assert.deepEqual(rules.commands, ['npm test', 'git status **'], 'a rule with a wildcard Foreman cannot say allows nothing');
  assert.equal(parseAgentDefinition(file('name: s\ndescription: S\ntools: Read, Bash'), 's.md').commands, undefined, 'plain Bash is any command');
  assert.equal(parseAgentDefinition(file('name: t\ndescription: T\ntools: Bash(git log:*), Bash(*)'), 't.md').commands, undefined, 'Bash(*) is any command');
  const yamlList = parseAgentDefinition(file('name: b\ndescription: B\ntools: [Grep, Glob, LS, TodoWrite, Task]\nmodel: opus'), 'b.md');
  assert.deepEqual(yamlList.tools, ['search', 'list_files']);
  assert.deepEqual(yamlList.ignoredTools, ['TodoWrite', 'Task']);
  assert.equal(yamlList.model, 'opus');
  const inherit = parseAgentDefinition(file('name: c\ndescription: C\nmodel: inherit\ntools: "*"'), 'c.md');
  assert.equal(inherit.model, undefined);
  assert.equal(inherit.tools, undefined, '`*` is every tool');
  const denied = parseAgentDefinition(file('name: d\ndescription: D\ndisallowedTools: Write, Edit, Bash'), 'd.md');
  assert.deepEqual(denied.tools, ['read_file', 'search', 'list_files', 'web_search', 'web_fetch']);
  assert.deepEqual(parseAgentDefinition(file('name: e\ndescription: E\ntools: ""'), 'e.md').tools, [], 'an empty list is no tools');
});

test('a definition that cannot be used names the file and the fix', () => {
  const refused = (text: string, pattern: RegExp) => assert.throws(() => parseAgentDefinition(text, '.claude/agents/x.md'), (error: unknown) => error instanceof ProjectFileError && pattern.test(error.message));
  refused('just a prompt', /x\.md has no YAML frontmatter: a definition is `---`/);
  refused(file('description: no name'), /x\.md: the frontmatter needs `name:`/);
  refused(file('name: x'), /needs `description:`/);
  refused(file('name: [x'), /not valid YAML/);
  refused(file('- a list'), /not a mapping/);
  refused(file('name: x\nname: y\ndescription: d'), /not valid YAML/);
  refused(file('name: two words\ndescription: d'), /name must be one word/);
  refused(file('name: x\ndescription: d\ntools: 42'), /tools must be tool names/);
  refused(file('name: x\ndescription: d\nmodel: 3'), /model must be sonnet, opus, haiku, inherit or a model id/);
  // An alias bomb is refused, not expanded.
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 20 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)].join('\n');
  refused(file(`name: x\ndescription: d\n${bomb}`), /not valid YAML/);
});

test('the catalog: the closest directory wins, a file name also selects, a case-folded built-in name works', async () => {
  const root = tempDir();
  writeFiles(root, {
    '.claude/agents/helper.md': file('name: helper\ndescription: root', 'ROOT'),
    'pkg/.claude/agents/helper.md': file('name: helper\ndescription: pkg', 'PKG'),
    'pkg/.claude/agents/other-file.md': file('name: named-differently\ndescription: d'),
    'pkg/.claude/agents/broken.md': 'no frontmatter',
    'pkg/.claude/agents/notes.txt': 'ignored',
  });
  const catalog = await loadAgentTypes({ project: directoryFiles(root, '', 'the repository'), projectDirs: upTheTree('pkg') });
  const pick = (name: string) => catalog.resolve(name) as { systemPrompt?: string; name?: string; error?: string };
  assert.equal(pick('helper').systemPrompt, 'PKG');
  assert.equal(pick('other-file').name, 'named-differently');
  assert.equal(pick('explore').name, 'Explore');
  assert.match(pick('broken').error ?? '', /agentType 'broken' cannot be used: pkg\/\.claude\/agents\/broken\.md has no YAML frontmatter/);
  assert.match(pick('nope').error ?? '', /Looked in pkg\/\.claude\/agents, \.claude\/agents, Foreman's built-ins\. Skipped: pkg\/\.claude\/agents\/broken\.md/);
});

test('claude code tool names map to Foreman tools; unknown ones are reported as written', () => {
  assert.deepEqual(foremanToolsOf(['Read', 'MultiEdit', 'Edit', 'NotebookEdit', 'mcp__github__issues', 'read_file']), { tools: ['read_file', 'edit_file'], ignored: ['NotebookEdit', 'mcp__github__issues'] });
});

test('@imports: at a line start or after a space, not in code spans or fenced blocks; an escaped space is part of the path', () => {
  const markdown = ['See @docs/a.md and @b.md.', 'mail me@example.com', '`@not/span.md`', '```', '@not/fenced.md', '```', '@with\\ space.md', '~~~md', '@unclosed.md'].join('\n');
  assert.deepEqual(importsOf(markdown), ['docs/a.md', 'b.md', 'with space.md']);
});

test('upTheTree lists the run directory first and the root last', () => {
  assert.deepEqual(upTheTree('packages/api'), ['packages/api', 'packages', '']);
  assert.deepEqual(upTheTree(''), ['']);
});

test("from a commit (the App's default branch): the committed files, never the working tree's; a committed link or an oversized file is refused", async () => {
  const repo = makeRepo({
    '.claude/agents/reviewer.md': file('name: reviewer\ndescription: committed', 'COMMITTED'),
    '.claude/agents/big.md': file('name: big\ndescription: d', 'x'.repeat(70 * 1024)),
    'CLAUDE.md': 'COMMITTED-MEMORY @docs/more.md\n',
    'docs/more.md': 'IMPORTED-FROM-COMMIT\n',
  });
  symlinkSync('/etc/hostname', join(repo, '.claude', 'agents', 'linked.md'));
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-q', '-m', 'link');
  const sha = gitIn(repo, 'rev-parse', 'HEAD').trim();
  writeFiles(repo, { '.claude/agents/reviewer.md': file('name: reviewer\ndescription: edited', 'WORKING-TREE'), 'CLAUDE.md': 'WORKING-TREE\n' });

  const context = await loadAgentContext({ repo, commit: sha, workDir: '' });
  const pick = (name: string) => context.agentTypes.resolve(name) as { systemPrompt?: string; error?: string };
  assert.equal(pick('reviewer').systemPrompt, 'COMMITTED');
  assert.match(pick('big').error ?? '', /\.claude\/agents\/big\.md is over 64 KB/);
  assert.match(pick('linked').error ?? '', /\.claude\/agents\/linked\.md is a symbolic link: .*commit the file itself/);
  assert.match(context.memory?.text ?? '', /COMMITTED-MEMORY[\s\S]*IMPORTED-FROM-COMMIT/);
  assert.doesNotMatch(context.memory?.text ?? '', /WORKING-TREE/);
  assert.deepEqual(context.memory?.files, ['CLAUDE.md', 'docs/more.md']);
});

test("CLAUDE.md may not import from .git (its config holds remote URLs with tokens), and names at most MAX_MEMORY_FILES files", async () => {
  const root = makeRepo({ 'CLAUDE.md': 'See @.git/config and @docs/../.GIT/config for the remote.\nAlso @notes.md\n', 'notes.md': 'NOTES\n' });
  gitIn(root, 'config', 'remote.origin.url', 'https://x-access-token:ghp_SECRET123456789@github.com/o/r');
  const loaded = await loadProjectMemory({ project: directoryFiles(root, '', 'the repository'), projectDirs: [''] });
  assert.doesNotMatch(loaded.memory!.text, /ghp_SECRET|\[remote/);
  assert.match(loaded.memory!.text, /NOTES/);
  assert.equal(loaded.warnings.filter((w) => /inside \.git/.test(w)).length, 2);

  const many = makeRepo({ 'CLAUDE.md': Array.from({ length: 200 }, (_, i) => `@f${i}.md`).join(' '), ...Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}.md`, `F${i}\n`])) });
  const capped = await loadProjectMemory({ project: directoryFiles(many, '', 'the repository'), projectDirs: [''] });
  assert.equal(capped.memory!.files.length, MAX_MEMORY_FILES);
  assert.equal(capped.warnings.filter((w) => /at most \d+ files/.test(w)).length, 1, 'one warning, not one per import');
});
