import { ContractError } from '../contract-error.js';

/** Captured output of the `maestro` CLI in cli mode, kept for logging (docs/behaviour.md §8.5, §6.5). */
export interface CapturedOutput {
  stdout: string;
  stderr: string;
}

/**
 * A manifest could not be generated, checked or finalised (docs/behaviour.md §8.5). `reason` is one of the failure
 * reasons of §8.5; the message is "Failed to generate manifest: {reason}", which is what E20 answers with
 * 500 `manifest_generation_failed` after the rollback of §8.6.
 */
export class ManifestGenerationError extends Error {
  readonly code = 'MANIFEST_GENERATION_ERROR';

  constructor(
    readonly reason: string,
    readonly output?: CapturedOutput,
    options?: { cause?: unknown },
  ) {
    super(`Failed to generate manifest: ${reason}`, options);
    this.name = 'ManifestGenerationError';
  }

  /** The HTTP error of E20 step 12 (docs/behaviour.md §8.2, §3.2). */
  toContractError(): ContractError {
    return new ContractError(500, 'manifest_generation_failed', this.message);
  }
}
