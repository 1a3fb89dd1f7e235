// read_file: a text file's lines, numbered, from an offset, capped.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { z } from 'zod';
import { cappedLines } from '../../text/capped-lines.ts';
import { resolveInRoot } from './confinement.ts';
import { defineTool, MAX_TOOL_OUTPUT, positiveInteger, text, ToolError } from './tool.ts';

export const DEFAULT_READ_LINES = 2_000;
const MAX_LINE_CHARS = 2_000;
const BINARY_SNIFF_BYTES = 8_192;

const args = z.object({
  path: text('File path relative to the repository root.'),
  offset: positiveInteger('First line to read, 1-based. Default 1.').optional(),
  limit: positiveInteger(`Number of lines to read. Default ${DEFAULT_READ_LINES}.`).optional(),
});

export const readFileTool = defineTool({
  name: 'read_file',
  description:
    'Read a text file of the repository. Output lines are prefixed with their line number and a tab. ' +
    `Reads ${DEFAULT_READ_LINES} lines from \`offset\` unless \`limit\` says otherwise; output is capped at about 100 KB and says how to continue.`,
  args,
  run: (input, { root }) => readFile(input, root),
});

async function readFile({ path: requested, offset = 1, limit = DEFAULT_READ_LINES }: z.output<typeof args>, root: string): Promise<string> {
  const file = await resolveInRoot(root, requested);

  const info = await stat(file.absolute);
  if (info.isDirectory()) throw new ToolError(`"${requested}" is a directory; use list_files`);
  if (!info.isFile()) throw new ToolError(`"${requested}" is not a regular file`);
  if (info.size === 0) return '(empty file)';
  if (await looksBinary(file.absolute)) throw new ToolError(`"${requested}" is a binary file`);

  const stream = createReadStream(file.absolute, { encoding: 'utf8' });
  const out: string[] = [];
  let size = 0;
  let lineNo = 0;
  let note = '';
  try {
    for await (const line of cappedLines(stream, MAX_LINE_CHARS)) {
      lineNo += 1;
      if (lineNo < offset) continue;
      if (lineNo >= offset + limit) {
        note = `[more lines follow; continue with offset=${lineNo}]`;
        break;
      }
      const shown = line.cut ? `${line.text}… [line truncated]` : line.text;
      const numbered = `${String(lineNo).padStart(6)}\t${shown}`;
      if (size + numbered.length + 1 > MAX_TOOL_OUTPUT) {
        note = `[output capped at ${MAX_TOOL_OUTPUT / 1000} KB; continue with offset=${lineNo}]`;
        break;
      }
      out.push(numbered);
      size += numbered.length + 1;
    }
  } finally {
    stream.destroy();
  }
  if (out.length === 0 && !note) {
    return `(the file has ${lineNo} line${lineNo === 1 ? '' : 's'}; offset ${offset} is past the end)`;
  }
  return note ? `${out.join('\n')}\n${note}` : out.join('\n');
}

async function looksBinary(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(BINARY_SNIFF_BYTES), 0, BINARY_SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead).includes(0);
  } finally {
    await handle.close();
  }
}
