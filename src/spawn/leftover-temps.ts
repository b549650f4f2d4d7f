import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { isTempFileName } from '../store/atomic-file.js';

/**
 * docs/behaviour.md §5.4: leftover temporary files from a crash are deleted at start so that junk never accumulates.
 * The store does this for DATA_DIR; manifests are written the same way inside `{SESSION_DIR}/{sessionId}/`,
 * so their temp files are swept here. Runs after the server listens (it is not needed to serve anything)
 * and never throws: an unreadable folder is skipped. Resolves with the number of files removed.
 */
export async function removeLeftoverManifestTemps(sessionDir: string): Promise<number> {
  let removed = 0;
  let sessions;
  try {
    sessions = await readdir(sessionDir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of sessions) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(sessionDir, entry.name);
    let files;
    try {
      files = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const file of files) {
      if (!file.isFile() || !isTempFileName(file.name)) continue;
      try {
        await rm(path.join(dir, file.name), { force: true });
        removed += 1;
      } catch {
        // Best effort: the next start tries again.
      }
    }
  }
  return removed;
}
