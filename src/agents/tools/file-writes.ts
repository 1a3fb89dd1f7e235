// What edit_file and write_file share: the checks a write passes and the one way a file is written.
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmod, rename, rm, stat, writeFile as fsWriteFile } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedPath } from './confinement.ts';
import { ToolError } from './tool.ts';

/** Largest write_file content, or edit_file old_string/new_string, in UTF-8 bytes (1 MB). */
export const MAX_WRITE_BYTES = 1_000_000;

export async function existingFile(file: ResolvedPath, requested: string): Promise<Stats> {
  const info = await stat(file.absolute);
  if (info.isDirectory()) throw new ToolError(`"${requested}" is a directory; give the path of a file`);
  if (!info.isFile()) throw new ToolError(`"${requested}" is not a regular file, so it cannot be written`);
  return info;
}

/**
 * Writes `data` to a temporary file beside `target` and renames it over `target`: a reader (or a
 * crash) never sees half a file, and a hard link to a file outside the root is replaced rather
 * than written through. `mode` keeps an existing file's permissions (an executable script stays
 * executable); new files get the default.
 */
export async function replaceFile(target: string, data: string, mode: number | undefined): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.foreman-${randomBytes(6).toString('hex')}.tmp`);
  try {
    // 'wx' never opens an existing file, so a link planted at the temporary name is not followed.
    await fsWriteFile(temp, data, { flag: 'wx' });
    if (mode !== undefined) await chmod(temp, mode);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export function checkWriteSize(what: string, value: string, limit = MAX_WRITE_BYTES): void {
  const size = Buffer.byteLength(value);
  if (size > limit) {
    throw new ToolError(
      `${what} is ${size} bytes, more than the ${formatBytes(limit)} (${limit} bytes) the write tools accept; write large files in smaller pieces, or generate them with an allowed command`,
    );
  }
}

export const formatBytes = (bytes: number): string =>
  bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(1).replace(/\.0$/, '')} MB` : bytes >= 1_000 ? `${Math.round(bytes / 1_000)} KB` : `${bytes} bytes`;
