// Reading a file a repository (or a user) put where Foreman looks: saved workflows, agent
// definitions, CLAUDE.md. Only a regular file is read, and at most a cap of it: opening without
// blocking and checking the opened file means a FIFO cannot hang the host, nor a device
// (/dev/zero) fill its memory. A link must resolve inside the directory the file belongs to.

import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';

export type BoundedRead = { text: string } | 'missing' | 'not-regular' | 'too-large';

/**
 * The file's text, or why there is none: missing (or a directory), not a regular file, over
 * `maxBytes`. With `head`, a larger file is no error: its first `maxBytes` bytes are the answer
 * (enough to read a script's `meta` without reading the whole script).
 */
export async function readBoundedFile(file: string, maxBytes: number, { head = false } = {}): Promise<BoundedRead> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    if (isMissing(error)) return 'missing';
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) return 'missing';
    if (!stats.isFile()) return 'not-regular';
    if (stats.size > maxBytes && !head) return 'too-large';
    // One byte more than the cap tells a file that grew since its stat from one of exactly the cap.
    const buffer = Buffer.alloc(head ? maxBytes : maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) return 'too-large';
    return { text: buffer.toString('utf8', 0, length) };
  } finally {
    await handle.close();
  }
}

/** `file` with its links resolved when that is inside `root`; false when it leads out; null when missing. */
export async function confinedPath(file: string, root: string): Promise<string | false | null> {
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([realpath(file), realpath(root)]);
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
  const relative = path.relative(realRoot, real);
  const outside = relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
  return outside ? false : real;
}

export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP';
}
