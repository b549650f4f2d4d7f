#!/usr/bin/env node
/**
 * The `maestro-api` bin: runs dist/cli/maestro-api.js (built from generated/cli/main.ts by
 * scripts/build-client.mjs). In a source checkout the bundle is rebuilt first when a file it was built from is newer
 * (esbuild), so a spec change followed by `npm run codegen`, or an edit in src/cli, is never run stale.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../dist/cli/maestro-api.js', import.meta.url);
if (existsSync(fileURLToPath(new URL('../src/cli/run.ts', import.meta.url)))) {
  try {
    const { buildCli, cliBundleIsFresh } = await import('../scripts/build-client.mjs');
    if (!cliBundleIsFresh()) await buildCli();
  } catch (err) {
    // Without the dev tools (esbuild) a built bundle still runs.
    if (!existsSync(fileURLToPath(bundle))) throw err;
  }
}
await import(bundle.href);
