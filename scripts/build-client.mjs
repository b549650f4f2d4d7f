/**
 * `npm run build:client` (and `prepare`, so `npm ci` leaves it built): the package's own outputs for users of
 * the API, next to the server's dist/main.js.
 *   dist/client/index.js    the `maestro-server/client` entry (src/client/index.ts): ESM, one file, openapi-fetch
 *                           inlined, built for the browser platform so that a Node built-in fails the build
 *   dist/client/index.d.ts  its declarations (tsc; the tree under dist/client/types/)
 *   dist/cli/maestro-api.js the `maestro-api` bin's code (generated/cli/main.ts); npm packages stay external
 * `--cli` builds only the CLI bundle (bin/maestro-api.mjs does that in a source checkout, so it never runs a
 * stale bundle). Every file is replaced atomically and only when its content changed. Plain JavaScript, so that
 * the build needs no TypeScript loader.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function writeIfChanged(file, text) {
  let current;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) return;
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

async function bundle(options) {
  const { build } = await import('esbuild');
  const result = await build({ absWorkingDir: root, bundle: true, format: 'esm', write: false, metafile: true, logLevel: 'warning', ...options });
  writeIfChanged(options.outfile, result.outputFiles[0].text);
  return Object.keys(result.metafile.inputs);
}

const CLI_BUNDLE = path.join(root, 'dist/cli/maestro-api.js');
/** The repository files the CLI bundle was built from (read by cliBundleIsFresh). */
const CLI_INPUTS = path.join(root, 'dist/cli/maestro-api.inputs.json');

export async function buildCli() {
  const inputs = await bundle({ entryPoints: ['generated/cli/main.ts'], platform: 'node', target: 'node20', packages: 'external', outfile: CLI_BUNDLE });
  writeIfChanged(CLI_INPUTS, `${JSON.stringify(inputs, null, 2)}\n`);
  // Same content is not rewritten: mark it as built now, so that cliBundleIsFresh sees it newer than its inputs.
  const now = new Date();
  utimesSync(CLI_BUNDLE, now, now);
}

/** Whether dist/cli/maestro-api.js exists and is newer than every file it was built from (a few stat calls). */
export function cliBundleIsFresh() {
  try {
    const built = statSync(CLI_BUNDLE).mtimeMs;
    const inputs = JSON.parse(readFileSync(CLI_INPUTS, 'utf8'));
    return inputs.every((input) => statSync(path.join(root, input)).mtimeMs <= built);
  } catch {
    return false;
  }
}

export async function buildClientJs() {
  await bundle({ entryPoints: ['src/client/index.ts'], platform: 'browser', target: 'es2022', outfile: path.join(root, 'dist/client/index.js') });
}

/** Declarations of src/client/index.ts and everything it reaches, under dist/client/types/ (mirroring the repo). */
export async function buildClientTypes() {
  const ts = (await import('typescript')).default;
  const outDir = path.join(root, 'dist/client/types');
  const options = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    declaration: true,
    emitDeclarationOnly: true,
    skipLibCheck: true,
    rootDir: root,
    outDir,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
  };
  const program = ts.createProgram([path.join(root, 'src/client/index.ts')], options);
  const emitted = new Map();
  const result = program.emit(undefined, (file, text) => emitted.set(file, text));
  const problems = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (problems.length > 0) {
    throw new Error(ts.formatDiagnostics(problems, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }));
  }
  for (const [file, text] of emitted) writeIfChanged(file, text);
  // Hand-written declaration files the client reaches (generated/validators/index.d.ts) are not emitted: copy them.
  for (const source of program.getSourceFiles()) {
    const rel = path.relative(root, source.fileName);
    if (!rel.startsWith('..') && !rel.includes('node_modules') && rel.endsWith('.d.ts')) {
      mkdirSync(path.dirname(path.join(outDir, rel)), { recursive: true });
      copyFileSync(source.fileName, path.join(outDir, rel));
    }
  }
  writeIfChanged(path.join(root, 'dist/client/index.d.ts'), "export * from './types/src/client/index.js';\n");
}

/**
 * `--if-available` (the `prepare` hook): an install without the dev tools (`npm ci --omit=dev`) skips the build,
 * and a failed build only warns.
 */
async function toolsAvailable() {
  try {
    await import('esbuild');
    await import('typescript');
    return true;
  } catch {
    return false;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  if (process.argv.includes('--if-available') && !(await toolsAvailable())) {
    console.log('build-client: esbuild/typescript not installed, dist/client and dist/cli not built');
    process.exit(0);
  }
  try {
    await buildCli();
    if (!process.argv.includes('--cli')) {
      await buildClientJs();
      await buildClientTypes();
    }
  } catch (err) {
    // As an install hook a failed build must not fail `npm ci`: the bin rebuilds its bundle on use, and
    // `npm run build:client` (or test/client-package) shows the error.
    if (!process.argv.includes('--if-available')) throw err;
    console.warn(`build-client: not built (${err instanceof Error ? err.message : String(err)}); run npm run build:client`);
  }
}
