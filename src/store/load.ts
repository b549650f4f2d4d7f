/**
 * Startup load of DATA_DIR (CONTRACT §5.2, §5.3, §5.5): create the folders, remove leftover temp files, read
 * every entity file, move legacy task files into their project folder, quarantine unusable files, apply the
 * migrations, repair links, and write back every entity that changed.
 *
 * Load order (and so "first one wins" for duplicate ids, §5.5): projects; tasks in project folders (folders
 * and files in name order); legacy task files `tasks/*.json` (a copy already in its folder wins); sessions;
 * templates; queues last (a queue needs its session).
 *
 * Folders and files are read with the synchronous calls on purpose: the load runs before the server listens,
 * so there is nothing to keep responsive, and one `await readFile` per file costs four thread-pool round trips
 * (open, fstat, read, close) plus the idle time between them — 16 s instead of about 1.5 s for 110 000 files
 * (docs/performance.md).
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { Dirent } from 'node:fs';
import { isUnsafeId } from '../ids.js';
import { isTempFileName } from './atomic-file.js';
import type { EntityKind, Project, QueueState, Session, Task, Template } from './entities.js';
import { serializeEntity } from './entities.js';
import { StoreStartupError } from './errors.js';
import type { StoreIO } from './io.js';
import type { Layout } from './layout.js';
import { ParallelReader } from './parallel-read.js';
import type { MigrationContext } from './migrate.js';
import { isRole, migrateProject, migrateQueue, migrateSession, migrateTask, migrateTemplate, repairLinks } from './migrate.js';

/** The logger the store writes its warnings to (pino adapts to it in main). */
export interface StoreLogger {
  warn(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
}

export interface LoadOptions {
  layout: Layout;
  io: StoreIO;
  logger: StoreLogger;
  /** The load's single clock reading: missing stamps and quarantine suffixes use it. */
  loadTime: number;
  hostname: string;
  platform: string;
}

export interface LoadStats {
  quarantined: number;
  tempFilesRemoved: number;
  migrated: number;
  legacyTasksMoved: number;
  linkRepairs: number;
  duplicates: number;
}

export interface LoadedData {
  projects: Map<string, Project>;
  tasks: Map<string, Task>;
  sessions: Map<string, Session>;
  queues: Map<string, QueueState>;
  templates: Map<string, Template>;
  /** File-name ids of session files that were skipped (quarantined); E14 must refuse them (§2.4 E14 step 6). */
  skippedSessionIds: Set<string>;
  stats: LoadStats;
}

type Raw = Record<string, unknown>;

interface Candidate {
  path: string;
  /** The file name without `.json`: the id the content must carry. */
  stem: string;
}

/** Load DATA_DIR. Throws StoreStartupError only when the folders cannot be created (§5.2 step 1). */
export async function loadDataDir(options: LoadOptions): Promise<LoadedData> {
  const { layout, io, logger, loadTime } = options;
  try {
    for (const dir of layout.allDirs()) await io.ensureDir(dir);
  } catch (err) {
    throw new StoreStartupError(`Cannot create the folders of DATA_DIR ${layout.dataDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }

  const stats: LoadStats = { quarantined: 0, tempFilesRemoved: 0, migrated: 0, legacyTasksMoved: 0, linkRepairs: 0, duplicates: 0 };
  const data: LoadedData = {
    projects: new Map(),
    tasks: new Map(),
    sessions: new Map(),
    queues: new Map(),
    templates: new Map(),
    skippedSessionIds: new Set(),
    stats,
  };
  const ctx: MigrationContext = {
    loadTime,
    hostname: options.hostname,
    platform: options.platform,
    warn: (message, extra) => logger.warn(message, extra),
  };
  /** Entities to write back, by kind and id; `legacyPath` is removed after the new file is durable. */
  const writeBack = new Map<string, { kind: EntityKind; id: string; legacyPath?: string }>();
  const touchedDirs = new Set<string>();

  const quarantine = async (path: string, reason: string): Promise<void> => {
    const rel = relative(layout.dataDir, path);
    const target = join(layout.quarantineDir, `${rel}.${loadTime}`);
    try {
      await io.ensureDir(dirname(target));
      await rename(path, target);
      stats.quarantined++;
      touchedDirs.add(dirname(path));
      touchedDirs.add(dirname(target));
      logger.warn(`Quarantined ${rel}: ${reason}`, { file: rel, reason, movedTo: relative(layout.dataDir, target) });
    } catch (err) {
      logger.warn(`Skipped ${rel} (${reason}); moving it to quarantine failed: ${(err as Error).message}`, {
        file: rel,
        reason,
      });
    }
  };

  /** List a folder: remove temp files, return `*.json` files (name order) and sub-folders. */
  const scan = async (dir: string): Promise<{ files: Candidate[]; dirs: string[] }> => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      logger.warn(`Cannot read ${relative(layout.dataDir, dir) || '.'}: ${(err as Error).message}`);
      return { files: [], dirs: [] };
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const files: Candidate[] = [];
    const dirs: string[] = [];
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        dirs.push(entry.name);
      } else if (entry.isFile() && isTempFileName(entry.name)) {
        // A crash between "write temp" and "rename" leaves these; they are never loaded (§5.4).
        try {
          await io.removeFile(path);
          stats.tempFilesRemoved++;
          touchedDirs.add(dir);
        } catch (err) {
          logger.warn(`Cannot remove leftover temp file ${relative(layout.dataDir, path)}: ${(err as Error).message}`);
        }
      } else if (entry.isFile() && entry.name.endsWith('.json')) {
        files.push({ path, stem: entry.name.slice(0, -'.json'.length) });
      }
    }
    return { files, dirs };
  };

  /** Read and parse one file; quarantine it and return undefined when it is unusable (§5.5). */
  const readObject = async (
    file: Candidate,
    idKey: 'id' | 'sessionId',
    prefetched?: Promise<string | undefined>,
  ): Promise<Raw | undefined> => {
    let text: string;
    try {
      text = (prefetched === undefined ? undefined : await prefetched) ?? readTextSync(file.path);
    } catch (err) {
      await quarantine(file.path, `cannot be read: ${(err as Error).message}`);
      return undefined;
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      await quarantine(file.path, `invalid JSON: ${(err as Error).message}`);
      return undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      await quarantine(file.path, 'not a JSON object');
      return undefined;
    }
    const obj = value as Raw;
    const id = obj[idKey];
    if (typeof id !== 'string') {
      await quarantine(file.path, `no string ${idKey}`);
      return undefined;
    }
    if (id !== file.stem) {
      await quarantine(file.path, `${idKey} ${JSON.stringify(id)} differs from the file name`);
      return undefined;
    }
    if (isUnsafeId(id)) {
      await quarantine(file.path, `unsafe ${idKey} ${JSON.stringify(id)}`);
      return undefined;
    }
    return obj;
  };

  const duplicate = (kind: string, id: string, path: string, keptPath: string): void => {
    stats.duplicates++;
    logger.warn(`Duplicate ${kind} id ${id}: ${relative(layout.dataDir, path)} ignored, ${relative(layout.dataDir, keptPath)} was loaded first`, {
      id,
      file: relative(layout.dataDir, path),
    });
  };

  const note = (kind: EntityKind, id: string, changed: boolean): void => {
    if (changed) writeBack.set(`${kind}:${id}`, { kind, id });
  };

  // Projects.
  for (const file of (await scan(layout.projectsDir)).files) {
    const raw = await readObject(file, 'id');
    if (raw === undefined) continue;
    const { entity, changed } = migrateProject(raw, ctx);
    data.projects.set(entity.id, entity);
    note('project', entity.id, changed);
  }

  // Tasks: project folders first, then legacy files directly in tasks/.
  // Absolute paths; made relative only for a duplicate's warning (path.relative per task costs ~0.1 s per 100k).
  const taskPaths = new Map<string, string>();
  const tasksScan = await scan(layout.tasksDir);
  const taskFolders: { folder: string; files: Candidate[] }[] = [];
  for (const folder of tasksScan.dirs) taskFolders.push({ folder, files: (await scan(join(layout.tasksDir, folder))).files });
  // One read-ahead over the task files and then the session files, in processing order, so that the reader
  // thread is never idle between the two (the session folder is scanned early for that; scanning only lists
  // and removes temp files, so its place in the order does not matter).
  const sessionFiles = (await scan(layout.sessionsDir)).files;
  const taskFiles = [...taskFolders.flatMap((f) => f.files), ...tasksScan.files];
  const reader = readAhead([...taskFiles, ...sessionFiles]);
  let taskIndex = 0;
  for (const { folder, files } of taskFolders) {
    for (const file of files) {
      const raw = await readObject(file, 'id', reader?.text(taskIndex++));
      if (raw === undefined) continue;
      if (raw.projectId !== folder) {
        await quarantine(file.path, `projectId ${JSON.stringify(raw.projectId)} differs from its folder ${folder}`);
        continue;
      }
      const id = raw.id as string;
      const kept = taskPaths.get(id);
      if (kept !== undefined) {
        duplicate('task', id, file.path, kept);
        continue;
      }
      const { entity, changed } = migrateTask(raw, ctx);
      data.tasks.set(id, entity);
      taskPaths.set(id, file.path);
      note('task', id, changed);
    }
  }
  for (const file of tasksScan.files) {
    const raw = await readObject(file, 'id', reader?.text(taskIndex++));
    if (raw === undefined) continue;
    if (typeof raw.projectId !== 'string' || isUnsafeId(raw.projectId)) {
      await quarantine(file.path, 'legacy task file without a usable projectId');
      continue;
    }
    const id = raw.id as string;
    const kept = taskPaths.get(id);
    if (kept !== undefined) {
      duplicate('task', id, file.path, kept);
      continue;
    }
    const { entity } = migrateTask(raw, ctx);
    data.tasks.set(id, entity);
    taskPaths.set(id, file.path);
    writeBack.set(`task:${id}`, { kind: 'task', id, legacyPath: file.path });
  }

  // Sessions.
  let sessionIndex = taskFiles.length;
  for (const file of sessionFiles) {
    const raw = await readObject(file, 'id', reader?.text(sessionIndex++));
    if (raw === undefined) {
      data.skippedSessionIds.add(file.stem);
      continue;
    }
    const { entity, changed } = migrateSession(raw, ctx);
    data.sessions.set(entity.id, entity);
    note('session', entity.id, changed);
  }

  await reader?.close();

  // Templates.
  for (const file of (await scan(layout.templatesDir)).files) {
    const raw = await readObject(file, 'id');
    if (raw === undefined) continue;
    if (!isRole(raw.role)) {
      await quarantine(file.path, `role ${JSON.stringify(raw.role)} is not a Role`);
      continue;
    }
    const { entity, changed } = migrateTemplate(raw, ctx);
    data.templates.set(entity.id, entity);
    note('template', entity.id, changed);
  }

  // Queues: only for existing sessions (§5.5).
  for (const file of (await scan(layout.queuesDir)).files) {
    const raw = await readObject(file, 'sessionId');
    if (raw === undefined) continue;
    if (!data.sessions.has(raw.sessionId as string)) {
      await quarantine(file.path, `its session ${String(raw.sessionId)} does not exist`);
      continue;
    }
    const { entity, changed } = migrateQueue(raw, ctx);
    data.queues.set(entity.sessionId, entity);
    note('queue', entity.sessionId, changed);
  }

  // Link repair (§5.3, after the migrations).
  const repair = repairLinks(data.tasks, data.sessions);
  stats.linkRepairs = repair.repairs;
  for (const id of repair.changedTasks) if (!writeBack.has(`task:${id}`)) writeBack.set(`task:${id}`, { kind: 'task', id });
  for (const id of repair.changedSessions) writeBack.set(`session:${id}`, { kind: 'session', id });
  if (repair.repairs > 0) {
    logger.warn(`Repaired ${repair.repairs} task/session link(s) at load`, {
      repairs: repair.repairs,
      tasks: repair.changedTasks.size,
      sessions: repair.changedSessions.size,
    });
  }

  // Write back (atomically, in parallel), then make the renames durable, then remove moved legacy files.
  const pathOf = (kind: EntityKind, id: string): string => {
    switch (kind) {
      case 'project':
        return layout.projectFile(id);
      case 'task':
        return layout.taskFile(data.tasks.get(id)!.projectId, id);
      case 'session':
        return layout.sessionFile(id);
      case 'queue':
        return layout.queueFile(id);
      case 'template':
        return layout.templateFile(id);
    }
  };
  const entityOf = (kind: EntityKind, id: string): unknown =>
    ({ project: data.projects, task: data.tasks, session: data.sessions, queue: data.queues, template: data.templates })[kind].get(id);

  const written = new Set<string>();
  await Promise.all(
    [...writeBack.entries()].map(async ([key, item]) => {
      const path = pathOf(item.kind, item.id);
      try {
        if (await io.ensureDir(dirname(path))) touchedDirs.add(dirname(dirname(path)));
        await io.writeFile(path, serializeEntity(entityOf(item.kind, item.id)));
        touchedDirs.add(dirname(path));
        written.add(key);
      } catch (err) {
        logger.warn(`Cannot write back ${relative(layout.dataDir, path)}: ${(err as Error).message}`);
      }
    }),
  );
  stats.migrated = [...writeBack.values()].filter((w) => w.legacyPath === undefined).length;
  await syncAll(io, touchedDirs, logger);

  const legacyDirs = new Set<string>();
  for (const [key, item] of writeBack) {
    if (item.legacyPath === undefined || !written.has(key)) continue;
    try {
      await io.removeFile(item.legacyPath);
      stats.legacyTasksMoved++;
      legacyDirs.add(dirname(item.legacyPath));
      logger.info(`Moved legacy task file ${relative(layout.dataDir, item.legacyPath)} into its project folder`);
    } catch (err) {
      logger.warn(`Cannot remove legacy task file ${relative(layout.dataDir, item.legacyPath)}: ${(err as Error).message}`);
    }
  }
  await syncAll(io, legacyDirs, logger);

  if (stats.quarantined > 0) logger.warn(`Load quarantined ${stats.quarantined} file(s)`, { quarantined: stats.quarantined });
  return data;
}

/** Below this many files, reading on the main thread is cheaper than starting reader threads. */
const READ_AHEAD_MIN_FILES = 2000;

function readAhead(files: Candidate[]): ParallelReader | undefined {
  // One reader thread per spare core (measured on 2 cores: main + 1 reader 1.8 s, main + 2 readers 2.8 s,
  // main alone 2.2 s for 110 000 files): the threads' syscalls compete with the main thread's parsing.
  const threads = Math.max(1, Math.min(3, availableParallelism() - 1));
  return files.length < READ_AHEAD_MIN_FILES ? undefined : new ParallelReader(files.map((f) => f.path), threads);
}

let readBuffer = Buffer.allocUnsafe(256 * 1024);

/**
 * `readFileSync(path, 'utf8')` without its per-call fstat and buffer allocation: open, read into one reused
 * buffer (grown when a file is larger), close. About a third faster over 100 000 small entity files.
 */
function readTextSync(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === readBuffer.length) {
        const bigger = Buffer.allocUnsafe(readBuffer.length * 2);
        readBuffer.copy(bigger, 0, 0, length);
        readBuffer = bigger;
      }
      const n = readSync(fd, readBuffer, length, readBuffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return readBuffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

async function syncAll(io: StoreIO, dirs: Set<string>, logger: StoreLogger): Promise<void> {
  await Promise.all(
    [...dirs].map((dir) => io.syncDir(dir).catch((err: Error) => logger.warn(`Cannot fsync ${dir}: ${err.message}`))),
  );
  dirs.clear();
}
