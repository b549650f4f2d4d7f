/**
 * The store's only door to the filesystem for entity files. Injectable so that tests can make a write fail
 * at a chosen path (tests run as root, so permissions cannot be used to provoke failures).
 */
import { mkdir } from 'node:fs/promises';
import { removeFileDurable, syncDir, writeFileAtomic } from './atomic-file.js';

export interface StoreIO {
  /** Atomically replace the file (temp, fsync, rename); the caller syncs the directory. */
  writeFile(path: string, text: string): Promise<void>;
  /** Remove the file; a missing file is fine; the caller syncs the directory. */
  removeFile(path: string): Promise<void>;
  /** fsync a directory (ignores "not supported here"). */
  syncDir(dir: string): Promise<void>;
  /** mkdir -p; returns true when the directory did not exist before. */
  ensureDir(dir: string): Promise<boolean>;
}

/** The real filesystem. */
export const fileSystemIO: StoreIO = {
  writeFile: (path, text) => writeFileAtomic(path, text, { syncDir: false }),
  removeFile: async (path) => {
    await removeFileDurable(path, { syncDir: false });
  },
  syncDir,
  ensureDir: async (dir) => (await mkdir(dir, { recursive: true })) !== undefined,
};
