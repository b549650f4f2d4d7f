/**
 * `npm run build:dist`: bundles src/main.ts (and the web board src/ui/main.ts into dist/ui/board.js) and everything it imports from src/ and generated/ into dist/main.js
 * with esbuild, so that the server runs as plain JavaScript under `node` with no TypeScript loader at run time
 * (issue 7). npm packages stay external (resolved from node_modules at run time, as before). Plain JavaScript so
 * that the build itself needs no loader either.
 *
 * `--if-stale` (what `npm start` runs first, as its `prestart`) builds only when dist/main.js is missing or older
 * than a file it is made from (src/, generated/, this script, package.json), so a start does not rebuild; then
 * esbuild is not even loaded. `npm pack` (prepack) always builds, so a packed package holds a fresh bundle.
 *
 * The file is replaced atomically (temp file + rename) and only when its content changed, so a server starting
 * from dist/main.js never reads a half-written bundle while another `npm start`, bench or test builds it. The
 * bundle, changed or not, is dated to the start of the build, so that `--if-stale` sees it as fresh.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outFile = path.join(root, 'dist', 'main.js');
/** the web board's browser bundle (src/ui/main.ts), served by src/static/site.ts as /ui/board.<hash>.js */
const uiFile = path.join(root, 'dist', 'ui', 'board.js');
const SOURCES = ['src', 'generated', 'scripts/build-dist.mjs', 'package.json'];

/** The newest mtime (ms) of a file or of any file below a folder. */
function newestMtime(target) {
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs; // a removed file changes its folder's mtime
  for (const entry of readdirSync(target)) newest = Math.max(newest, newestMtime(path.join(target, entry)));
  return newest;
}

function bundleIsFresh() {
  let built;
  try {
    built = Math.min(statSync(outFile).mtimeMs, statSync(uiFile).mtimeMs);
  } catch {
    return false;
  }
  return SOURCES.every((source) => newestMtime(path.join(root, source)) <= built);
}

if (process.argv.includes('--if-stale') && bundleIsFresh()) process.exit(0);

const { build } = await import('esbuild');
// The bundle is dated to the start of the build: a source saved during the build stays newer than it.
const buildStarted = new Date();

const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/main.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  outfile: outFile,
  write: false,
  logLevel: 'warning',
});
// The web board (src/ui/): one ESM file for the browser, the generated client inlined; no Node built-in can
// slip in (platform browser fails the build). Built here, never at start (docs/decisions.md "web board").
const ui = await build({
  absWorkingDir: root,
  entryPoints: ['src/ui/main.ts'],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  outfile: uiFile,
  write: false,
  logLevel: 'warning',
});

writeAtomically(outFile, result.outputFiles[0].text);
writeAtomically(uiFile, ui.outputFiles[0].text);

function writeAtomically(file, text) {
  let current;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== text) {
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      writeFileSync(tmp, text);
      utimesSync(tmp, buildStarted, buildStarted);
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  } else {
    utimesSync(file, buildStarted, buildStarted);
  }
}
