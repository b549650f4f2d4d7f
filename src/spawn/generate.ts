import { mkdir, rm } from 'node:fs/promises';
import type { CliManifest, Role, WorkerStrategy } from '../../generated/types/index.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { runCliManifestGenerate } from './cli-generator.js';
import { manifestPathFor, sessionManifestDir } from './env.js';
import { ManifestGenerationError, type CapturedOutput } from './errors.js';
import { finaliseManifest, schemaProblem, type SchemaValidator, type SpawnLogger } from './finalise.js';
import { buildServerManifest, normaliseSkills, type ManifestTaskSource } from './manifest.js';

export type ManifestGeneratorMode = 'server' | 'cli';

export interface GenerateManifestOptions {
  /** MANIFEST_GENERATOR (docs/behaviour.md §6.1). */
  mode: ManifestGeneratorMode;
  sessionId: string;
  sessionDir: string;
  dataDir: string;
  role: Role;
  strategy: WorkerStrategy;
  projectId: string;
  /** The project's `workingDir` (server mode). */
  workingDir: string;
  /** The spawn's tasks in normalised `taskIds` order. In cli mode only their ids are used. */
  tasks: readonly ManifestTaskSource[];
  skills: readonly string[];
  context?: Record<string, unknown>;
  /** The template §10.3 resolves for the role, when there is one. */
  templateId?: string;
  /** The SpawnManifest validator (precompiled); server-mode manifests are checked against it (cli mode: §8.5 checks only). */
  validate?: SchemaValidator;
  logger?: SpawnLogger;
  /** cli mode: MAESTRO_CLI_PATH, and the time limit (30 s unless a test shortens it). */
  cliPath?: string;
  cliTimeoutMs?: number;
  /** cli mode: base environment of the child (defaults to the server's). */
  env?: NodeJS.ProcessEnv;
}

export interface GeneratedManifest {
  manifestPath: string;
  /**
   * The final manifest as written to disk (`SpawnRequestEvent.manifest`): in server mode it also matches
   * SpawnManifest (checked before it is written); in cli mode only what CliManifest states is checked (§8.5).
   */
  manifest: CliManifest;
  /** cli mode: the CLI's captured output, for the log. */
  cliOutput?: CapturedOutput;
}

/**
 * Step 4 of the spawn sequence (docs/behaviour.md §8.3, §8.5): `mkdir -p {SESSION_DIR}/{sessionId}`, generate the manifest
 * in the configured mode, then read it back, check and finalise it. Failures are ManifestGenerationErrors; the
 * caller rolls back (§8.6, see `removeSessionManifestDir`) and answers 500 `manifest_generation_failed`.
 */
export async function generateManifest(options: GenerateManifestOptions): Promise<GeneratedManifest> {
  const manifestPath = manifestPathFor(options.sessionDir, options.sessionId);
  const skills = normaliseSkills(options.skills);
  try {
    await mkdir(sessionManifestDir(options.sessionDir, options.sessionId), { recursive: true });
  } catch (error) {
    throw new ManifestGenerationError(errorText(error), undefined, { cause: error });
  }

  let cliOutput: CapturedOutput | undefined;
  if (options.mode === 'cli') {
    const run = await runCliManifestGenerate({
      cliPath: options.cliPath ?? 'maestro',
      role: options.role,
      projectId: options.projectId,
      taskIds: options.tasks.map((task) => task.id),
      skills,
      strategy: options.strategy,
      outputPath: manifestPath,
      dataDir: options.dataDir,
      sessionDir: options.sessionDir,
      env: options.env,
      timeoutMs: options.cliTimeoutMs,
    });
    cliOutput = { stdout: run.stdout, stderr: run.stderr };
    options.logger?.info?.(
      { sessionId: options.sessionId, durationMs: run.durationMs, stdout: run.stdout, stderr: run.stderr },
      'maestro manifest generate finished',
    );
  } else {
    try {
      const built = buildServerManifest({
        role: options.role,
        strategy: options.strategy,
        project: { workingDir: options.workingDir },
        tasks: options.tasks,
        skills,
        context: options.context,
        templateId: options.templateId,
      });
      if (options.validate && !options.validate(built)) {
        throw new ManifestGenerationError(`manifest does not match the manifest schema: ${schemaProblem(options.validate)}`);
      }
      await writeFileAtomic(manifestPath, `${JSON.stringify(built, null, 2)}\n`);
    } catch (error) {
      if (error instanceof ManifestGenerationError) throw error;
      throw new ManifestGenerationError(errorText(error), undefined, { cause: error });
    }
  }

  const manifest = await finaliseManifest({
    manifestPath,
    skills,
    strategy: options.strategy,
    templateId: options.templateId,
    // docs/behaviour.md §8.5: the CLI's own output is checked only for an object with manifestVersion and role; no
    // tasks is a warning, never a failure. The schema check guards what the server builds itself.
    validate: options.mode === 'cli' ? undefined : options.validate,
    logger: options.logger,
  });
  return { manifestPath, manifest, ...(cliOutput ? { cliOutput } : {}) };
}

/** Rollback of docs/behaviour.md §8.6: removes `{SESSION_DIR}/{sessionId}/` recursively; a missing folder is fine. */
export async function removeSessionManifestDir(sessionDir: string, sessionId: string): Promise<void> {
  await rm(sessionManifestDir(sessionDir, sessionId), { recursive: true, force: true });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
