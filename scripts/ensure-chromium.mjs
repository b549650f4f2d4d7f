#!/usr/bin/env node
/**
 * The test suite drives Debian's chromium for the browser tests (test/http/docs-browser.test.ts, no browser
 * download). Run before `npm test` (its `pretest`) and by .ci/run: when no chromium is found (CHROMIUM_PATH,
 * /usr/bin/chromium, /usr/bin/chromium-browser) it installs Debian's package with apt-get, as root or through sudo.
 * Where that is impossible it says what to do and leaves the rest to the test, which then fails with the same
 * message: nothing is skipped silently.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
if (candidates.some((path) => existsSync(path))) process.exit(0);

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!has('apt-get') || (!asRoot && !has('sudo'))) {
  console.error('ensure-chromium: no chromium found and no apt-get (or no root/sudo) to install it: install chromium, or set CHROMIUM_PATH');
  process.exit(0);
}

const run = (args) => {
  const [command, ...rest] = asRoot ? args : ['sudo', ...args];
  console.error(`ensure-chromium: ${[command, ...rest].join(' ')}`);
  const result = spawnSync(command, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.status !== 0) {
    console.error(`ensure-chromium: ${args.join(' ')} failed (exit ${result.status}); the browser tests will say what is missing`);
    process.exit(0);
  }
};
console.error('ensure-chromium: installing Debian\'s chromium for the browser tests (once; about a minute)');
run(['apt-get', 'update', '-qq']);
run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'chromium']);
