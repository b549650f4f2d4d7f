/**
 * The on-disk layout of DATA_DIR (docs/behaviour.md §5.1). Every path that names an entity is built here, and only
 * after the id passed `isUnsafeId` (docs/behaviour.md §5.6): an unsafe id throws, it never becomes a path.
 */
import { join } from 'node:path';
import { isUnsafeId } from '../ids.js';

/** Thrown when an id that must never reach the filesystem is about to be used in a path. */
export class UnsafeIdError extends Error {
  constructor(readonly id: string) {
    super(`Refusing to build a path from an unsafe id: ${JSON.stringify(id)}`);
    this.name = 'UnsafeIdError';
  }
}

function safe(id: string): string {
  if (isUnsafeId(id)) throw new UnsafeIdError(id);
  return id;
}

/** The entity folders under DATA_DIR, in load order. */
export const ENTITY_FOLDERS = ['projects', 'tasks', 'sessions', 'queues', 'templates'] as const;
export type EntityFolder = (typeof ENTITY_FOLDERS)[number];

/** Paths under one DATA_DIR. */
export class Layout {
  readonly projectsDir: string;
  readonly tasksDir: string;
  readonly sessionsDir: string;
  readonly queuesDir: string;
  readonly templatesDir: string;
  readonly quarantineDir: string;
  readonly lockFile: string;

  constructor(readonly dataDir: string) {
    this.projectsDir = join(dataDir, 'projects');
    this.tasksDir = join(dataDir, 'tasks');
    this.sessionsDir = join(dataDir, 'sessions');
    this.queuesDir = join(dataDir, 'queues');
    this.templatesDir = join(dataDir, 'templates');
    this.quarantineDir = join(dataDir, 'quarantine');
    this.lockFile = join(dataDir, '.lock');
  }

  /** Every folder the store needs (created at load). */
  allDirs(): string[] {
    return [this.projectsDir, this.tasksDir, this.sessionsDir, this.queuesDir, this.templatesDir, this.quarantineDir];
  }

  /** `projects/{id}.json` */
  projectFile(id: string): string {
    return join(this.projectsDir, `${safe(id)}.json`);
  }

  /** `tasks/{projectId}/` */
  taskDir(projectId: string): string {
    return join(this.tasksDir, safe(projectId));
  }

  /** `tasks/{projectId}/{id}.json` */
  taskFile(projectId: string, id: string): string {
    return join(this.tasksDir, safe(projectId), `${safe(id)}.json`);
  }

  /** `sessions/{id}.json` */
  sessionFile(id: string): string {
    return join(this.sessionsDir, `${safe(id)}.json`);
  }

  /** `queues/{sessionId}.json` */
  queueFile(sessionId: string): string {
    return join(this.queuesDir, `${safe(sessionId)}.json`);
  }

  /** `templates/{id}.json` */
  templateFile(id: string): string {
    return join(this.templatesDir, `${safe(id)}.json`);
  }
}
