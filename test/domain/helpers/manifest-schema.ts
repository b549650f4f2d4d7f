import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { SchemaValidator } from '../../../src/spawn/finalise.js';

// Tests may compile schemas at run time (the server never does): this checks our manifests against
// schemas/manifest/spawn-manifest.json independently of the code generator.
// ajv-formats is CommonJS: under NodeNext its default import is the module object, whose `default` is the plugin.
const addFormats = addFormatsModule.default;

const SCHEMAS_DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url));
const MANIFEST_ID = 'https://maestro.local/schemas/manifest/spawn-manifest.json';

/** Compiles the SpawnManifest schema (with the common schemas it references) using Ajv's 2020-12 dialect. */
export async function compileManifestSchema(): Promise<SchemaValidator> {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  for (const folder of ['common', 'manifest']) {
    for (const name of (await readdir(path.join(SCHEMAS_DIR, folder))).filter((n) => n.endsWith('.json'))) {
      ajv.addSchema(JSON.parse(await readFile(path.join(SCHEMAS_DIR, folder, name), 'utf8')));
    }
  }
  const validate = ajv.getSchema(MANIFEST_ID);
  if (!validate) throw new Error(`schema ${MANIFEST_ID} not found`);
  return validate as unknown as SchemaValidator;
}
