/** The store's public surface (docs/behaviour.md §5). `DataStore` (api.ts) is what callers rely on; `Store` is the file store. */
export { Store } from './store.js';
export type { StoreOpenOptions, StoreLogger, LoadStats } from './store.js';
export type { CommitListener, DataStore, EmitPayload, SessionFilter, StoreEvent, StoreObserver, StoreReader, TaskFilter, Tx } from './api.js';
export { StoreStartupError } from './errors.js';
export { DataDirLockedError } from './lock.js';
export { Layout, UnsafeIdError } from './layout.js';
export { writeFileAtomic, removeFileDurable, syncDir, isTempFileName } from './atomic-file.js';
export type { StoreIO } from './io.js';
export { fileSystemIO } from './io.js';
export { serializeEntity } from './entities.js';
export type { EntityKind } from './entities.js';
