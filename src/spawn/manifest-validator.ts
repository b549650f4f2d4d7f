import { validateSpawnManifest as validateGenerated } from '../../generated/validators/index.js';
import type { SchemaValidator } from './finalise.js';

/**
 * The precompiled validator of `schemas/manifest/spawn-manifest.json` (the `maestro` CLI v0.1.0 manifest schema,
 * docs/behaviour.md §1.10), emitted by codegen into the Ajv standalone module generated/validators/index.js. Spawn passes it to `generateManifest` so
 * that every manifest the server writes is checked before it is written (issue 4). Nothing is compiled at run
 * time.
 */
export const validateSpawnManifest: SchemaValidator = validateGenerated;
