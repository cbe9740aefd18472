import { statSync, type Stats } from 'node:fs';
import { InvalidReadingsError } from '../application/invalid-readings.error';

const CHANGED = 'the file changed while it was read (its size or times moved, or it is gone): nothing was written; run again once it is complete';

/**
 * Refuses a readings file that changed since `before` was taken, when its read began (a copy
 * still being written, a log rotated under us): its size, modification time or inode moved,
 * or it is gone. What was read is then a part, or a mix, of two files, and must not be
 * stored as if whole; a read that failed meanwhile failed because of that change.
 */
export function checkUnchanged(path: string, before: Stats): void {
  let after: Stats | undefined;
  try {
    after = statSync(path);
  } catch {
    after = undefined; // deleted or replaced by something unreadable: changed
  }
  // ctime too: a rewrite that puts the old modification time back still moves it.
  if (after && after.size === before.size && after.mtimeMs === before.mtimeMs && after.ctimeMs === before.ctimeMs && after.ino === before.ino) return;
  throw new InvalidReadingsError(path, CHANGED);
}
