// Builds dist/ only when a source is newer than the last build, then (given one) runs a
// built file in this same process. An unchanged tree costs a few milliseconds of stat calls,
// so the npm scripts and bin/sensor-alerts.js run the built code without paying for tsc.
// Plain CommonJS: it runs before anything is compiled.
//   node scripts/ensure-built.js [--force] [dist/FILE.js [args...]]
'use strict';
const { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

const ROOT = join(__dirname, '..');
const STAMP_PATH = join('dist', '.build-stamp');
const STAMP = join(ROOT, STAMP_PATH);
// What the build reads: a change to any of these makes dist/ stale.
const INPUTS = ['src', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

function newestMtime(path) {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats) return 0;
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs; // a deleted or renamed file changes its folder's mtime
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Why `root`'s dist/ must be (re)built, or undefined when it is up to date. */
function staleness(root = ROOT) {
  // An installed copy without sources (the container image): dist/ is all there is.
  if (!existsSync(join(root, 'src'))) return undefined;
  const built = statSync(join(root, STAMP_PATH), { throwIfNoEntry: false });
  if (!built) return 'no build yet';
  const changed = INPUTS.find((input) => newestMtime(join(root, input)) > built.mtimeMs);
  return changed && `${changed} changed since the last build`;
}

function build(reason) {
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc');
  } catch {
    // An install without dev dependencies (npm ci --omit=dev) cannot build; say so, do not fail it.
    process.stderr.write('sensor-alerts: dist/ is not built and TypeScript is not installed: run npm ci, then npm run build\n');
    return;
  }
  if (reason) process.stderr.write(`sensor-alerts: ${reason}; building dist/ (npm run build)\n`);
  // Stamped with the start time: a file saved during the build still counts as newer.
  const startedAt = new Date();
  const options = { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] };
  // Loaded only to build: the usual, up-to-date start should not pay for it.
  const { execFileSync } = require('node:child_process');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], options);
  execFileSync(process.execPath, ['scripts/bundle-cli.mjs'], options);
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  writeFileSync(STAMP, 'dist/ was built from the sources as they were at this file\'s mtime\n');
  utimesSync(STAMP, startedAt, startedAt);
}

/** Builds when stale (or when `force`); returns whether it built. */
function ensureBuilt(force = false) {
  const reason = staleness();
  if (!force && reason === undefined) return false;
  build(force ? undefined : reason);
  return true;
}

module.exports = { ensureBuilt, staleness };

if (require.main === module) {
  const args = process.argv.slice(2);
  const force = args[0] === '--force';
  if (force) args.shift();
  let built = true;
  try {
    ensureBuilt(force);
  } catch {
    built = false; // tsc or esbuild has printed why
    process.exitCode = 1;
  }
  const [file, ...rest] = args;
  if (built && file !== undefined) {
    const target = resolve(ROOT, file);
    // As if started as `node dist/FILE.js args...`: parseArgs reads process.argv.
    process.argv = [process.argv[0], target, ...rest];
    require(target);
  }
}
