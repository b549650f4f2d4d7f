/**
 * Loader: reads schemas/**, spec/openapi.yaml and spec/asyncapi.yaml (docs/spec-conventions.md §1, §3, §4)
 * into memory, checks the conventions the emitters rely on, and resolves `$ref`s between the documents.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

export const SCHEMA_ID_BASE = 'https://maestro.local/';

export type JsonSchema = Record<string, unknown>;

export interface SchemaFile {
  /** posix path relative to the project root, e.g. `schemas/entities/task.json` */
  relPath: string;
  /** path inside schemas/ without extension, e.g. `entities/task` */
  name: string;
  id: string;
  title: string;
  schema: JsonSchema;
  text: string;
}

export interface SourceFile {
  relPath: string;
  text: string;
}

export interface LoadedSpec {
  root: string;
  schemas: SchemaFile[];
  schemaByPath: Map<string, SchemaFile>;
  schemaById: Map<string, SchemaFile>;
  openapi: Record<string, unknown>;
  openapiSource: SourceFile;
  asyncapi: Record<string, unknown>;
  asyncapiSource: SourceFile;
  prompts: { worker: SourceFile; orchestrator: SourceFile };
}

export class SpecError extends Error {
  override name = 'SpecError';
}

export interface LoadOptions {
  /** project root holding schemas/ and spec/ */
  root: string;
  /** folder holding worker.md and orchestrator.md; default `<root>/templates/prompts` */
  promptsDir?: string;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.endsWith('.json')) out.push(full);
    }
  };
  walk(dir);
  return out.sort();
}

function readSource(root: string, rel: string, what: string): SourceFile {
  const full = path.join(root, rel);
  if (!fs.existsSync(full)) throw new SpecError(`${what} not found: ${rel} (under ${root})`);
  return { relPath: toPosix(rel), text: fs.readFileSync(full, 'utf8') };
}

export function loadSpec(options: LoadOptions): LoadedSpec {
  const root = path.resolve(options.root);
  const schemaDir = path.join(root, 'schemas');
  if (!fs.existsSync(schemaDir)) throw new SpecError(`schemas/ not found under ${root}`);
  const problems: string[] = [];
  const schemas: SchemaFile[] = [];
  const titles = new Map<string, string>();
  for (const full of listFiles(schemaDir)) {
    const relPath = toPosix(path.relative(root, full));
    const text = fs.readFileSync(full, 'utf8');
    let schema: JsonSchema;
    try {
      schema = JSON.parse(text) as JsonSchema;
    } catch (err) {
      problems.push(`${relPath}: invalid JSON (${(err as Error).message})`);
      continue;
    }
    const id = schema.$id;
    const title = schema.title;
    const expectedId = SCHEMA_ID_BASE + relPath;
    if (id !== expectedId) problems.push(`${relPath}: $id must be "${expectedId}" (spec-conventions §1), found ${JSON.stringify(id)}`);
    if (typeof title !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(title)) {
      problems.push(`${relPath}: title must be a PascalCase string (spec-conventions §1), found ${JSON.stringify(title)}`);
      continue;
    }
    const clash = titles.get(title);
    if (clash) problems.push(`${relPath}: title ${title} is already used by ${clash}`);
    titles.set(title, relPath);
    schemas.push({
      relPath,
      name: relPath.replace(/^schemas\//, '').replace(/\.json$/, ''),
      id: expectedId,
      title,
      schema,
      text,
    });
  }
  if (problems.length > 0) throw new SpecError(`schema files violate docs/spec-conventions.md:\n  ${problems.join('\n  ')}`);

  const openapiSource = readSource(root, 'spec/openapi.yaml', 'OpenAPI document');
  const asyncapiSource = readSource(root, 'spec/asyncapi.yaml', 'AsyncAPI document');
  const openapi = parseYaml(openapiSource.text) as Record<string, unknown>;
  const asyncapi = parseYaml(asyncapiSource.text) as Record<string, unknown>;

  const promptsDir = options.promptsDir ? path.resolve(options.promptsDir) : path.join(root, 'templates', 'prompts');
  const prompt = (role: string): SourceFile => {
    const full = path.join(promptsDir, `${role}.md`);
    if (!fs.existsSync(full)) {
      throw new SpecError(
        `default prompt template missing: ${full} (docs/behaviour.md §10.4: the built-in default texts are compiled in; ` +
          `write templates/prompts/${role}.md or pass --prompts-dir)`,
      );
    }
    const rel = toPosix(path.relative(root, full));
    return { relPath: rel.startsWith('..') ? `templates/prompts/${role}.md` : rel, text: fs.readFileSync(full, 'utf8') };
  };

  return {
    root,
    schemas,
    schemaByPath: new Map(schemas.map((s) => [s.relPath, s])),
    schemaById: new Map(schemas.map((s) => [s.id, s])),
    openapi,
    openapiSource,
    asyncapi,
    asyncapiSource,
    prompts: { worker: prompt('worker'), orchestrator: prompt('orchestrator') },
  };
}

/** Resolves a local JSON pointer (`#/components/...`) inside a document. */
export function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) throw new SpecError(`not a local reference: ${ref}`);
  const parts = ref.slice(1).split('/').filter((p, i) => !(i === 0 && p === ''));
  let node: unknown = doc;
  for (const raw of parts) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in (node as object))) {
      throw new SpecError(`unresolvable reference ${ref}`);
    }
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Follows local `$ref`s (`#/...`) until a node without one; external refs are returned untouched. */
export function derefLocal<T = Record<string, unknown>>(doc: unknown, node: unknown): T {
  let current = node;
  for (let i = 0; i < 32; i++) {
    if (current && typeof current === 'object' && typeof (current as { $ref?: unknown }).$ref === 'string') {
      const ref = (current as { $ref: string }).$ref;
      if (!ref.startsWith('#')) return current as T;
      current = resolvePointer(doc, ref);
    } else {
      return current as T;
    }
  }
  throw new SpecError('reference cycle');
}

/** Resolves a relative file reference made from `fromRelPath` to a schema file path (`schemas/...json`). */
export function refToSchemaPath(fromRelPath: string, ref: string): { file: string; fragment: string } {
  const [filePart, fragment = ''] = ref.split('#');
  const file = path.posix.normalize(path.posix.join(path.posix.dirname(fromRelPath), filePart));
  return { file, fragment };
}
