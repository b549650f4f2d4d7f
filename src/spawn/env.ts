import path from 'node:path';
import type { Role, WorkerStrategy } from '../../generated/types/index.js';

export const MANIFEST_FILE_NAME = 'manifest.json';

/** `{SESSION_DIR}/{sessionId}/`: the folder spawn creates and removes on rollback (docs/behaviour.md §8.3, §8.6). */
export function sessionManifestDir(sessionDir: string, sessionId: string): string {
  return path.join(path.resolve(sessionDir), sessionId);
}

/** Absolute `{SESSION_DIR}/{sessionId}/manifest.json` (docs/behaviour.md §1.10, §8.4 MAESTRO_MANIFEST_PATH). */
export function manifestPathFor(sessionDir: string, sessionId: string): string {
  return path.join(sessionManifestDir(sessionDir, sessionId), MANIFEST_FILE_NAME);
}

export interface SpawnEnvInput {
  sessionId: string;
  /** SESSION_DIR; made absolute here. */
  sessionDir: string;
  /** DATA_DIR; made absolute here. */
  dataDir: string;
  /** SERVER_URL of the configuration (docs/behaviour.md §6.1), already without a trailing `/`. */
  serverUrl: string;
  strategy: WorkerStrategy;
}

/** The session env vars of docs/behaviour.md §8.4: exactly these six keys, in docs/behaviour.md's order. */
export interface SpawnEnvVars {
  MAESTRO_SESSION_ID: string;
  MAESTRO_MANIFEST_PATH: string;
  MAESTRO_SERVER_URL: string;
  MAESTRO_STRATEGY: WorkerStrategy;
  DATA_DIR: string;
  SESSION_DIR: string;
  [key: string]: string;
}

/** `session.env` = `envVars` of a spawn (docs/behaviour.md §8.4). The API token is never among them (§6.2). */
export function buildSpawnEnv(input: SpawnEnvInput): SpawnEnvVars {
  return {
    MAESTRO_SESSION_ID: input.sessionId,
    MAESTRO_MANIFEST_PATH: manifestPathFor(input.sessionDir, input.sessionId),
    MAESTRO_SERVER_URL: input.serverUrl,
    MAESTRO_STRATEGY: input.strategy,
    DATA_DIR: path.resolve(input.dataDir),
    SESSION_DIR: path.resolve(input.sessionDir),
  };
}

/** The command a terminal runs for a spawned session: `maestro {role} init` (docs/behaviour.md §1.11 `command`, §8.7). */
export function spawnCommandFor(role: Role): `maestro ${Role} init` {
  return `maestro ${role} init`;
}
