import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Role, SkillDetail, SkillReloaded, SkillSummary } from '../../generated/types/index.js';
import { isSafeSkillId } from './skill-id.js';
import { isJsonObject, projectSkillSummary } from './skill-manifest.js';

/** The part of a pino logger the registry uses. */
export interface SkillLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface SkillRegistryOptions {
  /** Absolute SKILLS_DIR (docs/behaviour.md §6.1). Read only; the registry never creates or writes anything in it. */
  skillsDir: string;
  logger?: SkillLogger;
}

const MANIFEST_FILE = 'manifest.json';
const INSTRUCTIONS_FILE = 'skill.md';
const SHARED_ROLE_SKILL = 'maestro-cli';

const silentLogger: SkillLogger = { warn: () => undefined };

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

function summaryOf(detail: SkillDetail): SkillSummary {
  return { id: detail.id, name: detail.name, description: detail.description, type: detail.type, version: detail.version };
}

/**
 * Skills read from SKILLS_DIR (docs/behaviour.md §7): discovery, lenient loading, a per-id cache of successful loads,
 * role mapping and reload. No method throws; every failure means "not found" (plus a warning where §7 asks).
 */
export class SkillRegistry {
  private readonly skillsDir: string;
  private readonly logger: SkillLogger;
  private readonly cache = new Map<string, SkillDetail>();

  constructor(options: SkillRegistryOptions) {
    this.skillsDir = path.resolve(options.skillsDir);
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * E23 (docs/behaviour.md §7.1): the skills present now, sorted by id. Reads the root on every call, keeps the direct
   * sub-directories that do not start with `.` and contain `manifest.json`, loads each through the cache and
   * drops those that fail. A missing or unreadable root gives `[]` and a warning.
   */
  async list(): Promise<SkillSummary[]> {
    let names: string[];
    try {
      names = await readdir(this.skillsDir);
    } catch (error) {
      this.logger.warn({ skillsDir: this.skillsDir, err: errorText(error) }, 'Skills directory cannot be read; no skills');
      return [];
    }
    const candidates = names.filter((name) => isSafeSkillId(this.skillsDir, name)).sort(compareIds);
    const loaded = await Promise.all(
      candidates.map(async (id) => ((await this.qualifies(id)) ? this.loadCached(id) : undefined)),
    );
    return loaded.filter((detail): detail is SkillDetail => detail !== undefined).map(summaryOf);
  }

  /** E24: the skill with its instructions, or `undefined` (unsafe id, no directory, no or invalid manifest). */
  async get(id: string): Promise<SkillDetail | undefined> {
    if (!isSafeSkillId(this.skillsDir, id)) return undefined;
    const detail = await this.loadCached(id);
    return detail === undefined ? undefined : { ...detail };
  }

  /** E25 (docs/behaviour.md §7.4): `maestro-cli`, then `maestro-{role}`; the ones that do not load are left out. */
  async forRole(role: Role): Promise<SkillSummary[]> {
    const result: SkillSummary[] = [];
    for (const id of [SHARED_ROLE_SKILL, `maestro-${role}`]) {
      const detail = isSafeSkillId(this.skillsDir, id) ? await this.loadCached(id) : undefined;
      if (detail !== undefined) result.push(summaryOf(detail));
    }
    return result;
  }

  /**
   * E26 (docs/behaviour.md §7.3): drops the cached entry and loads the skill afresh. On failure the entry stays dropped
   * and the answer is `undefined`.
   */
  async reload(id: string): Promise<SkillReloaded | undefined> {
    if (!isSafeSkillId(this.skillsDir, id)) return undefined;
    this.cache.delete(id);
    const detail = await this.loadCached(id);
    return detail === undefined ? undefined : { ...summaryOf(detail), reloaded: true };
  }

  /** §7.1: a directory (not a file) that contains `manifest.json`, checked at the time of the call. */
  private async qualifies(id: string): Promise<boolean> {
    const dir = path.join(this.skillsDir, id);
    try {
      if (!(await stat(dir)).isDirectory()) return false;
      await stat(path.join(dir, MANIFEST_FILE));
      return true;
    } catch {
      return false;
    }
  }

  private async loadCached(id: string): Promise<SkillDetail | undefined> {
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    const detail = await this.load(id);
    if (detail !== undefined) this.cache.set(id, detail);
    return detail;
  }

  /** Load(id) of docs/behaviour.md §7.2, steps 2–5; the id is already known to be safe. */
  private async load(id: string): Promise<SkillDetail | undefined> {
    const dir = path.join(this.skillsDir, id);
    try {
      if (!(await stat(dir)).isDirectory()) return undefined;
    } catch {
      return undefined;
    }

    let text: string;
    try {
      text = await readFile(path.join(dir, MANIFEST_FILE), 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      this.logger.warn({ skillId: id, err: errorText(error) }, 'Skill skipped: manifest.json cannot be read');
      return undefined;
    }

    let manifest: unknown;
    try {
      manifest = JSON.parse(text);
    } catch (error) {
      this.logger.warn({ skillId: id, err: errorText(error) }, 'Skill skipped: manifest.json is not valid JSON');
      return undefined;
    }
    if (!isJsonObject(manifest)) {
      this.logger.warn({ skillId: id }, 'Skill skipped: manifest.json is not a JSON object');
      return undefined;
    }

    let instructions = '';
    try {
      instructions = await readFile(path.join(dir, INSTRUCTIONS_FILE), 'utf8');
    } catch (error) {
      this.logger.warn({ skillId: id, err: errorText(error) }, 'Skill has no readable skill.md; instructions are empty');
    }

    return { ...projectSkillSummary(id, manifest), instructions };
  }
}

/** Plain string order, as for every id sort of docs/behaviour.md (§0.4). */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
