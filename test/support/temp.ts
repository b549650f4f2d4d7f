/**
 * Temp folders and small file helpers for tests. Every folder made here is under os.tmpdir() and is removed by
 * `removeTempDirs()` (or by the server handle that owns it), so a test run leaves nothing behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made = new Set<string>();

/** A fresh empty folder under os.tmpdir(). */
export function tempDir(prefix = 'maestro-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Removes one folder (made here or not); a missing folder is fine. */
export function removeTempDir(dir: string): void {
  made.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Removes every folder `tempDir` made that is still there (afterAll/afterEach). */
export function removeTempDirs(): void {
  for (const dir of [...made]) removeTempDir(dir);
}

/** Every file below `root` as a relative path with `/`, sorted; folders are not listed; a missing root is empty. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const relative = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path.join(dir, entry.name), relative);
      else out.push(relative);
    }
  };
  walk(root, '');
  return out.sort();
}

/** Writes `value` as a JSON file at `dir/relative`, creating folders. */
export function writeJson(dir: string, relative: string, value: unknown): void {
  const file = path.join(dir, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

/** The parsed JSON file at `dir/relative`. */
export function readJson(dir: string, relative = ''): any {
  return JSON.parse(fs.readFileSync(path.join(dir, relative), 'utf8'));
}
