import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

/** The characters that make DuckDB read a path as a glob pattern. */
const GLOB_CHARACTERS = /[*?[]/;

/**
 * A path DuckDB reads as the one file it names. DuckDB takes any path holding `*`, `?` or `[`
 * for a glob pattern, so `r?.csv` would read rA.csv and rB.csv (and `p[1].csv`, p1.csv):
 * such a path is read through a symbolic link with a plain name, in a folder of its own,
 * removed by `release()`. Any other path is used as it is.
 */
export function globFreePath(path: string): { readonly path: string; release(): void } {
  if (!GLOB_CHARACTERS.test(path)) return { path, release: () => undefined };
  const folder = mkdtempSync(join(tmpdir(), 'sensor-alerts-input-'));
  const link = join(folder, basename(path).replace(/[*?[\]]/g, '_'));
  symlinkSync(resolve(path), link);
  return { path: link, release: () => rmSync(folder, { recursive: true, force: true }) };
}
