// write_file: creates a file, or replaces all of its content.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { refuseProtected, resolveInRoot, toPosix } from './confinement.ts';
import { checkWriteSize, existingFile, replaceFile } from './file-writes.ts';
import { defineTool, text, ToolError } from './tool.ts';

const args = z.object({
  path: text('File path relative to the repository root.'),
  content: text('The complete new content of the file.'),
});

export const writeFileTool = defineTool({
  name: 'write_file',
  description:
    'Create a file of the repository, or replace its whole content; missing parent directories are created. ' +
    'Prefer edit_file for changing part of an existing file.',
  args,
  mutating: true,
  run: (input, { root }) => writeFile(input, root),
});

async function writeFile({ path: requested, content }: z.output<typeof args>, root: string): Promise<string> {
  checkWriteSize('content', content);
  if (/[/\\]$/.test(requested)) throw new ToolError(`"${requested}" ends with a slash; give the path of a file, not a directory`);

  const file = await resolveInRoot(root, requested, { allowMissing: true });
  await refuseProtected(root, file);
  let mode: number | undefined;
  if (file.exists) {
    mode = (await existingFile(file, requested)).mode & 0o7777;
  } else {
    await mkdir(path.dirname(file.absolute), { recursive: true });
  }
  await replaceFile(file.absolute, content, mode);
  const lines = content === '' ? 0 : content.split('\n').length - (content.endsWith('\n') ? 1 : 0);
  return `${file.exists ? 'Overwrote' : 'Created'} ${toPosix(file.relative)} (${lines} line${lines === 1 ? '' : 's'}, ${Buffer.byteLength(content)} bytes).`;
}
