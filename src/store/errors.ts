/**
 * Startup failures of the store. main logs them as CONFIG_ERROR and exits 1 (docs/behaviour.md §5.2 step 1, §5.4).
 */
export class StoreStartupError extends Error {
  readonly code = 'CONFIG_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreStartupError';
  }
}
