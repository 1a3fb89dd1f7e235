// edit_file: replaces exact text in an existing file, once or everywhere.
import { readFile as fsReadFile } from 'node:fs/promises';
import { z } from 'zod';
import { refuseProtected, resolveInRoot, toPosix } from './confinement.ts';
import { checkWriteSize, existingFile, formatBytes, replaceFile } from './file-writes.ts';
import { defineTool, flag, text, ToolError } from './tool.ts';

const args = z.object({
  path: text('File path relative to the repository root.'),
  old_string: text('The exact text to replace.'),
  new_string: text('The text to put in its place; must differ from old_string.'),
  replace_all: flag('Replace every occurrence of old_string. Default false.').optional(),
});

export const editFileTool = defineTool({
  name: 'edit_file',
  description:
    'Replace text in an existing file of the repository. old_string must match the file exactly (whitespace and indentation included, ' +
    'without the line-number prefixes read_file shows) and occur exactly once, unless replace_all is true; ' +
    'include enough surrounding lines to make it unique. Read the file first.',
  args,
  mutating: true,
  run: (input, { root }) => editFile(input, root),
});

/** Largest file edit_file loads; past this the file is generated or data, not something to edit by hand. */
export const MAX_EDIT_FILE_BYTES = 10_000_000;

async function editFile({ path: requested, old_string: oldString, new_string: newString, replace_all: replaceAll = false }: z.output<typeof args>, root: string): Promise<string> {
  if (oldString === '') throw new ToolError('old_string must not be empty; to create a file or replace all of its content, use write_file');
  if (oldString === newString) {
    throw new ToolError('old_string and new_string are identical, so the edit would change nothing; put the changed text in new_string');
  }
  checkWriteSize('old_string', oldString);
  checkWriteSize('new_string', newString);

  const file = await resolveInRoot(root, requested, { allowMissing: true });
  await refuseProtected(root, file);
  if (!file.exists) throw new ToolError(`no such file: "${requested}"; to create it, use write_file`);
  const info = await existingFile(file, requested);
  if (info.size > MAX_EDIT_FILE_BYTES) {
    throw new ToolError(`"${requested}" is ${formatBytes(info.size)}; edit_file handles files up to ${formatBytes(MAX_EDIT_FILE_BYTES)}. Replace it with write_file only if you mean to rewrite all of it`);
  }
  const bytes = await fsReadFile(file.absolute);
  if (bytes.includes(0)) throw new ToolError(`"${requested}" is a binary file; edit_file only edits text`);
  let text: string;
  try {
    // fatal: re-encoding invalid UTF-8 would silently replace bytes the edit did not touch.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new ToolError(`"${requested}" is not valid UTF-8 text, so edit_file cannot change it without damaging it; use write_file to replace it entirely`);
  }

  let from = oldString;
  let to = newString;
  let positions = occurrences(text, from);
  // read_file shows lines without their \r, so a multi-line old_string from the model has bare \n.
  if (positions.length === 0 && from.includes('\n') && text.includes('\r\n')) {
    const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');
    from = crlf(oldString);
    to = crlf(newString);
    positions = occurrences(text, from);
  }
  if (positions.length === 0) {
    const prefixHint = /^\s*\d+\t/m.test(oldString) ? ' old_string seems to include the line-number prefixes read_file adds; leave them out.' : '';
    throw new ToolError(
      `old_string was not found in "${requested}". It must match the file exactly, whitespace and indentation included; read the file again with read_file and copy the text.${prefixHint}`,
    );
  }
  if (positions.length > 1 && !replaceAll) {
    throw new ToolError(
      `old_string occurs ${positions.length} times in "${requested}" (lines ${lineList(text, positions)}); include more surrounding lines to make it unique, or set replace_all to true to replace every occurrence`,
    );
  }

  const edited = replaceAll ? text.split(from).join(to) : text.slice(0, positions[0]) + to + text.slice(positions[0] + from.length);
  checkWriteSize('the edited file', edited, MAX_EDIT_FILE_BYTES);
  await replaceFile(file.absolute, edited, info.mode & 0o7777);
  const count = positions.length;
  const where = count === 1 ? `at line ${lineOf(text, positions[0])}` : `(lines ${lineList(text, positions)})`;
  return `Edited ${toPosix(file.relative)}: replaced ${count} occurrence${count === 1 ? '' : 's'} ${where}.`;
}

function occurrences(text: string, needle: string): number[] {
  const found: number[] = [];
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) found.push(at);
  return found;
}

const lineOf = (text: string, index: number): number => {
  let line = 1;
  for (let at = text.indexOf('\n'); at !== -1 && at < index; at = text.indexOf('\n', at + 1)) line += 1;
  return line;
};

function lineList(text: string, positions: readonly number[]): string {
  const shown = positions.slice(0, 20).map((p) => lineOf(text, p));
  return positions.length > shown.length ? `${shown.join(', ')}, …` : shown.join(', ');
}
