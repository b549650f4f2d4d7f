/**
 * generated/validators/: ONE Ajv2020 standalone ESM module for every schema file (`index.js`, Ajv's multi-export
 * standalone code) plus `index.d.ts` typing each export as a type guard for the schema's generated type, and
 * `compiled-validator.ts`. All schemas live in one Ajv instance compiled with `inlineRefs: false`, so every schema
 * file becomes exactly one function and a `$ref` to it is a call to that function: a shared schema
 * (`common/timestamp.json`, …) is compiled once, and editing it changes one generated validator file.
 * Formats come from ajv-formats' runtime module, imported by the generated code; nothing is compiled at run time.
 */
import Ajv2020Module from 'ajv/dist/2020.js';
import standaloneModule from 'ajv/dist/standalone/index.js';
import addFormatsModule from 'ajv-formats';
import { _ } from 'ajv';
import type { LoadedSpec, SchemaFile } from './load-spec.js';
import type { Output, Source } from './output.js';
import { extensionKeywords, mapSchema } from './schema-tools.js';

// The three packages are CommonJS; under ESM their default export may arrive wrapped.
type Ajv2020Ctor = typeof import('ajv/dist/2020.js').default;
const Ajv2020 = ((Ajv2020Module as unknown as { default?: Ajv2020Ctor }).default ?? Ajv2020Module) as Ajv2020Ctor;
type Standalone = typeof import('ajv/dist/standalone/index.js').default;
const standaloneCode = ((standaloneModule as unknown as { default?: Standalone }).default ?? standaloneModule) as Standalone;
type AddFormats = typeof import('ajv-formats').default;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as AddFormats;

/** strictTypes findings of the last createAjv() compilation (reported by codegen, never fatal). */
export const strictTypeNotes: string[] = [];

/** Ajv instance holding every schema file, configured as the generated validators are. */
export function createAjv(spec: LoadedSpec): InstanceType<Ajv2020Ctor> {
  const ajv = new Ajv2020({
    allErrors: true,
    // Every `$ref` stays a call to the referenced schema's own function instead of a copy of its code, so a
    // shared schema is compiled once (see the module comment). Errors raised inside a referenced schema carry a
    // `schemaPath` relative to that schema (`#/minimum`); instancePath, keyword, params and message are as before.
    inlineRefs: false,
    strict: true,
    // `anyOf: [{required: [a]}, {required: [b]}]` and `then: {required: [...]}` are the conventions' way to
    // express cross-field rules (spec-conventions §2 rule 6); strictRequired would reject them.
    strictRequired: false,
    // `"type": ["string", "null"]` is how nullable fields are written (spec-conventions §1).
    allowUnionTypes: true,
    // `{ "$ref": "../common/id-array.json", "minItems": 1 }` is idiomatic 2020-12; strictTypes would want the
    // type repeated beside the $ref. Its findings are collected (see strictTypeNotes) instead of failing.
    strictTypes: 'log',
    logger: {
      log: () => undefined,
      warn: (...args: unknown[]) => strictTypeNotes.push(args.map(String).join(' ')),
      error: (...args: unknown[]) => {
        throw new Error(args.map(String).join(' '));
      },
    },
    code: {
      source: true,
      esm: true,
      lines: true,
      formats: _`require("ajv-formats/dist/formats").fullFormats`,
    },
  });
  addFormats(ajv);
  // x-validation-order, x-error-codes, x-error-messages, …: annotations read by the router, not by Ajv.
  ajv.addVocabulary(extensionKeywords(spec));
  for (const file of spec.schemas) ajv.addSchema(withoutProse(file.schema));
  return ajv;
}

/** Annotations that only explain (Ajv never reads them). Left out of the generated code, so a reworded description
 * does not rewrite the validators. */
const PROSE_KEYWORDS = ['description', 'examples', '$comment'];

function withoutProse(schema: unknown): object {
  return mapSchema(schema, (node) => {
    for (const keyword of PROSE_KEYWORDS) delete node[keyword];
    return node;
  }) as object;
}

/** Standalone code uses `require(...)` for runtime helpers even in ESM mode; turn those into imports. */
export function requireToImports(code: string): string {
  const modules = new Map<string, string>();
  const replaced = code.replace(/require\("([^"]+)"\)/g, (_match, specifier: string) => {
    let name = modules.get(specifier);
    if (!name) {
      name = `runtime${modules.size}`;
      modules.set(specifier, name);
    }
    return name;
  });
  const imports = [...modules].map(([specifier, name]) => {
    const withExt = specifier.endsWith('.js') ? specifier : `${specifier}.js`;
    return `import ${name} from "${withExt}";`;
  });
  // keep "use strict" first, then the imports
  const body = replaced.replace(/^"use strict";\n?/, '');
  return ['"use strict";', ...imports, body].join('\n');
}

/** Generated module (relative to generated/) holding every schema's validator. */
export const VALIDATORS_MODULE = 'validators/index.js';

/**
 * What `index.d.ts` is derived from: the schema files' paths and titles (not their contents, so a constraint or
 * description edit leaves it, and its header, unchanged).
 */
function titlesSource(spec: LoadedSpec): Source {
  return {
    relPath: 'schemas/**/*.json (paths and titles)',
    text: spec.schemas.map((f) => `${f.relPath}\t${f.title}`).join('\n'),
  };
}

export function emitValidators(spec: LoadedSpec, out: Output): void {
  const ajv = createAjv(spec);
  const exports: Record<string, string> = {};
  for (const file of spec.schemas) {
    if (!ajv.getSchema(file.id)) throw new Error(`codegen: Ajv lost schema ${file.id}`);
    exports[importName(file)] = file.id;
  }
  // One standalone module: each schema is compiled once, into one function; `$ref`s between files call it.
  const code = requireToImports(standaloneCode(ajv, exports));
  out.add(
    VALIDATORS_MODULE,
    spec.schemas,
    [
      code.replace(/\s*$/, ''),
      '',
      '/** Every schema validator by the schema title (tests and tools; importers take the named exports). */',
      'export const validators = {',
      ...spec.schemas.map((f) => `  ${f.title}: ${importName(f)},`),
      '};',
      '',
      '/** Schema file (relative to the project root) → title. */',
      'export const schemaTitles = {',
      ...spec.schemas.map((f) => `  '${f.relPath}': '${f.title}',`),
      '};',
    ].join('\n'),
  );
  out.add(
    'validators/index.d.ts',
    [titlesSource(spec)],
    [
      "import type { CompiledValidator } from './compiled-validator.js';",
      `import type { ${spec.schemas.map((f) => f.title).join(', ')} } from '../types/index.js';`,
      '',
      ...spec.schemas.flatMap((f) => [
        `/** Ajv standalone validator for ${f.relPath} (${f.title}). */`,
        `export declare const ${importName(f)}: CompiledValidator<${f.title}>;`,
      ]),
      '',
      '/** Every schema validator by the schema title (tests and tools; importers take the named exports). */',
      'export declare const validators: { [K in keyof SchemaTypes]: CompiledValidator<SchemaTypes[K]> };',
      '',
      '/** Schema title → its generated type. */',
      'export interface SchemaTypes {',
      ...spec.schemas.map((f) => `  ${f.title}: ${f.title};`),
      '}',
      '',
      'export type SchemaTitle = keyof SchemaTypes;',
      '',
      '/** Schema file (relative to the project root) → title. */',
      'export declare const schemaTitles: Record<string, SchemaTitle>;',
    ].join('\n'),
  );
  const compiledValidator = [
      "import type { ErrorObject } from 'ajv';",
      '',
      '/** A precompiled Ajv validator: a type guard that leaves its errors on `errors` (null when valid). */',
      'export interface CompiledValidator<T> {',
      '  (data: unknown): data is T;',
      '  errors?: ErrorObject[] | null;',
      '}',
    ].join('\n');
  // Not derived from the spec: its source is this emitter.
  out.add('validators/compiled-validator.ts', [{ relPath: 'codegen/emit-validators.ts', text: compiledValidator }], compiledValidator);
}

export function importName(file: SchemaFile): string {
  return `validate${file.title}`;
}
