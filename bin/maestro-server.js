#!/usr/bin/env node
/**
 * The package's executable, `maestro-server` (`npx maestro-server`, `--help`, `--version`). It runs the prebuilt
 * bundle dist/main.js with plain node: no build at start and no dev dependency at run time. The bundle is made
 * by `npm run build:dist`; `npm pack` makes it fresh (prepack), so an installed package always has it.
 */
try {
  await import('../dist/main.js');
} catch (err) {
  const missingBundle = err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/main.js');
  if (!missingBundle) throw err;
  process.stderr.write('maestro-server: dist/main.js is missing; in a checkout, run `npm run build:dist` (or `npm start`)\n');
  process.exit(1);
}
