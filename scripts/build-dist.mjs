/**
 * `npm run build:dist` (run by `npm start` as its `prestart`): bundles src/main.ts and everything it imports
 * from src/ and generated/ into dist/main.js with esbuild, so that the server runs as plain JavaScript under
 * `node` with no TypeScript loader at run time (issue 7). npm packages stay external (resolved from
 * node_modules at run time, as before). Plain JavaScript so that the build itself needs no loader either.
 *
 * The file is replaced atomically (temp file + rename) and only when its content changed, so a server starting
 * from dist/main.js never reads a half-written bundle while another `npm start`, bench or test builds it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outFile = path.join(root, 'dist', 'main.js');

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
const text = result.outputFiles[0].text;

let current;
try {
  current = readFileSync(outFile, 'utf8');
} catch {
  current = undefined;
}
if (current !== text) {
  mkdirSync(path.dirname(outFile), { recursive: true });
  const tmp = path.join(path.dirname(outFile), `.main.js.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, outFile);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
