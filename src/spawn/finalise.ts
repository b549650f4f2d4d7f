import { readFile } from 'node:fs/promises';
import type { CliManifest, WorkerStrategy } from '../../generated/types/index.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { ManifestGenerationError } from './errors.js';
import { normaliseSkills } from './manifest.js';

/** The part of a pino logger spawn uses. */
export interface SpawnLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
  info?(obj: Record<string, unknown>, msg: string): void;
}

/**
 * A precompiled JSON Schema validator in Ajv's calling convention (the standalone modules under
 * `generated/validators/` follow it): returns whether the data is valid and leaves the errors on `errors`.
 */
export interface SchemaValidator {
  (data: unknown): boolean;
  errors?: ReadonlyArray<{ instancePath?: string; message?: string }> | null;
}

export interface FinaliseOptions {
  manifestPath: string;
  /** The spawn's skills; normalised again here. */
  skills: readonly string[];
  strategy: WorkerStrategy;
  /** The template §10.3 resolves for the role; `undefined` when the role has none. */
  templateId?: string;
  /** When given, the final object must pass it before it is written (the CLI manifest schema, §1.10). */
  validate?: SchemaValidator;
  logger?: SpawnLogger;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The first schema error as one line, for the failure reason. */
export function schemaProblem(validate: SchemaValidator): string {
  const first = validate.errors?.[0];
  if (!first) return 'invalid';
  const where = first.instancePath ? `${first.instancePath} ` : '';
  return `${where}${first.message ?? 'is invalid'}`;
}

/**
 * Check and finalise a written manifest (docs/behaviour.md §8.5, both modes): read it back and parse it; require a JSON
 * object with `manifestVersion` and `role`; warn when it has no tasks; set `skills`, the `strategy` rule
 * (`"queue"` for queue spawns, else removed) and the `templateId` rule (set, or removed when the role has no
 * template); validate; rewrite atomically with 2-space indentation. Returns the final object, which is what
 * `session:spawn` carries as `manifest`. Every failure is a ManifestGenerationError with the §8.5 reason.
 */
export async function finaliseManifest(options: FinaliseOptions): Promise<CliManifest> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(options.manifestPath, 'utf8'));
  } catch (error) {
    throw new ManifestGenerationError(`Failed to read manifest: ${errorText(error)}`, undefined, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ManifestGenerationError('Failed to read manifest: manifest is not a JSON object');
  }
  const manifest = parsed as Record<string, unknown>;
  if (manifest.manifestVersion === undefined || manifest.manifestVersion === null) {
    throw new ManifestGenerationError('manifest missing manifestVersion');
  }
  if (manifest.role === undefined || manifest.role === null) {
    throw new ManifestGenerationError('manifest missing role');
  }
  if (!hasTasks(manifest)) {
    options.logger?.warn({ manifestPath: options.manifestPath }, 'Manifest has no tasks');
  }

  manifest.skills = normaliseSkills(options.skills);
  if (options.strategy === 'queue') manifest.strategy = 'queue';
  else delete manifest.strategy;
  if (options.templateId !== undefined) manifest.templateId = options.templateId;
  else delete manifest.templateId;

  if (options.validate && !options.validate(manifest)) {
    throw new ManifestGenerationError(`manifest does not match the manifest schema: ${schemaProblem(options.validate)}`);
  }

  try {
    await writeFileAtomic(options.manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  } catch (error) {
    throw new ManifestGenerationError(errorText(error), undefined, { cause: error });
  }
  // The checks above and the keys just set are exactly what CliManifest (schemas/manifest/cli-manifest.json) states.
  return manifest as CliManifest;
}

/** §8.5 step 3: a non-empty `tasks[]`, or a legacy single `task` with an `id`. */
function hasTasks(manifest: Record<string, unknown>): boolean {
  if (Array.isArray(manifest.tasks) && manifest.tasks.length > 0) return true;
  const task = manifest.task;
  return typeof task === 'object' && task !== null && 'id' in task && (task as { id: unknown }).id != null;
}
