/**
 * One full garbage collection on request (main runs it once, after the startup load: issue 7). `global.gc` is
 * used when node was started with `--expose-gc`; otherwise V8 is asked for it at run time, so no start flag is
 * needed. Where neither works, nothing happens: V8 collects on its own schedule, only later.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) {
    exposed();
    return;
  }
  try {
    // The flag only exposes `gc` to contexts created after it is set; a fresh context hands it over.
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
  } catch {
    // Not available in this runtime.
  }
}
