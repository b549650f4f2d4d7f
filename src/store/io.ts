/**
 * The store's only door to the filesystem for entity files. Injectable so that tests can make a write fail
 * at a chosen path (tests run as root, so permissions cannot be used to provoke failures).
 */
import { mkdir } from 'node:fs/promises';
import { removeFileDurable, syncDir, writeFileAtomic, type FsyncTimer } from './atomic-file.js';

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

/** The real filesystem; `onFsync` (the store observer's) is told how long each fsync took. */
export function createFileSystemIO(onFsync?: FsyncTimer): StoreIO {
  return {
    writeFile: (path, text) => writeFileAtomic(path, text, { syncDir: false, onFsync }),
    removeFile: async (path) => {
      await removeFileDurable(path, { syncDir: false, onFsync });
    },
    syncDir: (dir) => syncDir(dir, onFsync),
    ensureDir: async (dir) => (await mkdir(dir, { recursive: true })) !== undefined,
  };
}

/** The real filesystem, unobserved. */
export const fileSystemIO: StoreIO = createFileSystemIO();
