/**
 * generated/types/: one module per schema file (json-schema-to-typescript) whose `$ref`s to other files
 * become imports of those files' named types, an index exporting every type by its title, and
 * generated/types/openapi.ts (openapi-typescript: `paths`, `operations`, `components`), the type source of
 * the generated client. Both generators see the schemas through the same shape normalisation
 * (`normaliseShape`), and generated/client/contract-check.ts asserts at compile time that they agree.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { compile } from 'json-schema-to-typescript';
import openapiTS, { astToString } from 'openapi-typescript';
import type { JsonSchema, LoadedSpec, SchemaFile } from './load-spec.js';
import type { Output } from './output.js';
import { declaredProperties, isObject, mapSchema, schemaFileForRef } from './schema-tools.js';

/** Keywords that only constrain values; they carry no type information and would only muddle the types. */
const VALIDATION_ONLY = ['if', 'then', 'else', 'not', 'dependentRequired', 'dependentSchemas'];
const TYPE_BEARING = ['type', 'properties', '$ref', 'tsType', 'items', 'enum', 'const', 'anyOf', 'oneOf', 'allOf', 'additionalProperties'];

/** A branch such as `{ required: [a] }` or `{ required: [a], properties: { a: true } }`: no type information. */
function isConstraintOnly(branch: unknown): boolean {
  if (!isObject(branch)) return false;
  const trivialProps =
    !('properties' in branch) ||
    (isObject(branch.properties) && Object.values(branch.properties).every((v) => v === true || (isObject(v) && Object.keys(v).length === 0)));
  const ignorable = (k: string): boolean =>
    k === 'properties' || (k === 'type' && branch.type === 'object') || (k === 'additionalProperties' && branch.additionalProperties === false);
  return trivialProps && !TYPE_BEARING.some((k) => k in branch && !ignorable(k));
}

/** The root with the properties declared only in `then`/`else` (dropped later) added, as optional ones. */
function withBranchProperties(schema: JsonSchema): JsonSchema {
  const root: JsonSchema = { ...schema };
  const merged = declaredProperties(root, ['then', 'else']);
  if (merged.length > 0 && (isObject(root.properties) || 'then' in root || 'else' in root)) {
    root.properties = Object.fromEntries(merged);
  }
  return root;
}

/**
 * The shape both type generators see: validation-only keywords removed, then/else properties merged in as
 * optional ones, constraint-only `anyOf`/`oneOf`/`allOf` branches (`{required: [x]}`) dropped. `$ref`s stay.
 * Without this, openapi-typescript would type TaskUpdateRequest without its `else` fields and
 * TemplateUpdateRequest as a union with `{ name: unknown }`.
 */
export function normaliseShape(schema: JsonSchema): JsonSchema {
  return mapSchema(withBranchProperties(schema), (node) => {
    const out: JsonSchema = { ...node };
    for (const key of VALIDATION_ONLY) delete out[key];
    for (const key of ['anyOf', 'oneOf', 'allOf']) {
      const branches = out[key];
      if (Array.isArray(branches) && branches.every(isConstraintOnly)) delete out[key];
    }
    return out;
  }) as JsonSchema;
}

/** The schema prepared for json-schema-to-typescript, plus the titles it refers to. */
export function typeSchemaFor(spec: LoadedSpec, file: SchemaFile): { schema: JsonSchema; refs: string[] } {
  const refs = new Set<string>();
  const root = withBranchProperties(file.schema);
  const prepared = mapSchema(root, (node, depth) => {
    let out: JsonSchema = node;
    if (typeof out.$ref === 'string' && !out.$ref.startsWith('#')) {
      const target = schemaFileForRef(spec, file.relPath, out.$ref);
      if (target.relPath !== file.relPath) refs.add(target.title);
      const { $ref: _ref, ...rest } = out;
      out = { ...rest, tsType: target.title };
    }
    for (const key of Object.keys(out)) {
      if (key.startsWith('x-') || VALIDATION_ONLY.includes(key) || key === '$schema' || key === '$id') delete out[key];
    }
    if (depth > 0) delete out.title;
    for (const key of ['anyOf', 'oneOf', 'allOf']) {
      const branches = out[key];
      if (Array.isArray(branches) && branches.every(isConstraintOnly)) delete out[key];
    }
    // A declared shape is the type; undeclared extra keys are ignored by the server (docs/behaviour.md §0.5).
    if (isObject(out.properties) && !('additionalProperties' in out)) out.additionalProperties = false;
    return out;
  }) as JsonSchema;
  return { schema: prepared, refs: [...refs].sort() };
}

function importPath(fromName: string, toName: string): string {
  let rel = path.posix.relative(path.posix.dirname(fromName), toName);
  if (!rel.startsWith('.')) rel = `./${rel}`;
  return `${rel}.js`;
}

export async function emitTypes(spec: LoadedSpec, out: Output): Promise<void> {
  const byTitle = new Map(spec.schemas.map((s) => [s.title, s]));
  await Promise.all(
    spec.schemas.map(async (file) => {
      const { schema, refs } = typeSchemaFor(spec, file);
      const code = await compile(schema as never, file.title, {
        bannerComment: '',
        additionalProperties: true,
        declareExternallyReferenced: true,
        format: true,
        ignoreMinAndMaxItems: true,
        unknownAny: true,
        strictIndexSignatures: false,
        style: { singleQuote: true, printWidth: 120 },
      });
      const imports = refs.map((title) => `import type { ${title} } from '${importPath(file.name, byTitle.get(title)!.name)}';`);
      const body = [imports.join('\n'), code.trim()].filter((s) => s !== '').join('\n\n');
      out.add(`types/${file.name}.ts`, [file], body);
    }),
  );

  const index = spec.schemas.map((file) => `export type { ${file.title} } from './${file.name}.js';`).join('\n');
  out.add('types/index.ts', spec.schemas, `export type * from './openapi.js';\n${index}`);

  out.add('types/openapi.ts', [spec.openapiSource, ...spec.schemas], await openapiTypes(spec));
}

/**
 * openapi-typescript over a temporary copy of spec/openapi.yaml and schemas/ whose schema files went through
 * `normaliseShape` (same layout, so the `$ref`s and the component names are unchanged).
 * `defaultNonNullable: false`: a property with a `default` is still optional in a request body.
 * `emptyObjectsUnknown: true`: a free-form `{type: object}` is `Record<string, unknown>`, not `Record<string, never>`.
 */
async function openapiTypes(spec: LoadedSpec): Promise<string> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maestro-openapi-types-'));
  try {
    const write = (rel: string, text: string): void => {
      fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
      fs.writeFileSync(path.join(tmp, rel), text);
    };
    write(spec.openapiSource.relPath, spec.openapiSource.text);
    for (const file of spec.schemas) write(file.relPath, JSON.stringify(normaliseShape(file.schema), null, 2));
    const ast = await openapiTS(pathToFileURL(path.join(tmp, spec.openapiSource.relPath)), {
      alphabetize: true,
      defaultNonNullable: false,
      emptyObjectsUnknown: true,
      silent: true,
    });
    return astToString(ast);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
