/**
 * `npm run lint:spec` — lints the two spec documents before anything is generated from them.
 *
 * - spec/openapi.yaml: Redocly CLI (`redocly lint`, rules in redocly.yaml at the repository root), then every
 *   example of a request body, response and parameter validated with Ajv 2020 against its schema (the schema files
 *   are loaded by their `$id`, which Redocly's own example check cannot follow).
 * - spec/asyncapi.yaml: @asyncapi/parser (AsyncAPI 3.0 validation with every relative `../schemas` ref resolved).
 * - Cross-check: every event named in an OpenAPI `x-emits` list is a message `name` of the AsyncAPI document.
 *
 * Prints one line per problem and a summary; exits 1 when any error was found (a missing document is an error).
 * Options, for tests and one-off runs: --openapi <file> --asyncapi <file> --redocly-config <file>.
 *
 * @see docs/spec-conventions.md §3 (OpenAPI shape), §4 (AsyncAPI shape)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

const addFormats = addFormatsModule.default;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Problem {
  severity: 'error' | 'warning';
  where: string;
  rule: string;
  message: string;
}

interface Report {
  document: string;
  problems: Problem[];
}

const { values: args } = parseArgs({
  options: {
    openapi: { type: 'string', default: 'spec/openapi.yaml' },
    asyncapi: { type: 'string', default: 'spec/asyncapi.yaml' },
    'redocly-config': { type: 'string', default: 'redocly.yaml' },
  },
});

const openapiFile = path.resolve(repoRoot, args.openapi);
const asyncapiFile = path.resolve(repoRoot, args.asyncapi);
const redoclyConfig = path.resolve(repoRoot, args['redocly-config']);
const rel = (file: string): string => path.relative(repoRoot, file) || file;

/** Shape of `redocly lint --format json` that this script reads. */
interface RedoclyJson {
  totals: { errors: number; warnings: number };
  problems: Array<{
    ruleId: string;
    severity: 'error' | 'warn';
    message: string;
    location?: Array<{ source?: { ref?: string }; pointer?: string; start?: { line: number; col: number } }>;
  }>;
}

function lintOpenApi(file: string): Report {
  const report: Report = { document: rel(file), problems: [] };
  if (!existsSync(file)) {
    report.problems.push({ severity: 'error', where: rel(file), rule: 'file-exists', message: 'document not found' });
    return report;
  }
  // The CLI is run from the local package (no download, no network): its JSON output is the stable interface.
  const cli = path.join(repoRoot, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
  const run = spawnSync(
    process.execPath,
    [cli, 'lint', file, '--config', redoclyConfig, '--format', 'json', '--max-problems', '100000'],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true', NO_COLOR: '1' },
    },
  );
  let out: RedoclyJson;
  try {
    const start = run.stdout.indexOf('{');
    out = JSON.parse(run.stdout.slice(start)) as RedoclyJson;
  } catch {
    const tail = `${run.stderr ?? ''}${run.error ? String(run.error) : ''}`.trim().split('\n').slice(-5).join(' | ');
    report.problems.push({
      severity: 'error',
      where: rel(file),
      rule: 'redocly',
      message: `redocly lint did not produce a report (exit ${String(run.status)}): ${tail}`,
    });
    return report;
  }
  for (const p of out.problems) {
    const loc = p.location?.[0];
    const source = loc?.source?.ref ? rel(path.resolve(repoRoot, loc.source.ref)) : rel(file);
    const at = loc?.start ? `${source}:${loc.start.line}:${loc.start.col}` : `${source}${loc?.pointer ?? ''}`;
    report.problems.push({ severity: p.severity === 'error' ? 'error' : 'warning', where: at, rule: p.ruleId, message: p.message });
  }
  if (run.status !== 0 && !report.problems.some((p) => p.severity === 'error')) {
    report.problems.push({ severity: 'error', where: rel(file), rule: 'redocly', message: `redocly lint exited ${String(run.status)}` });
  }
  return report;
}

/** The real path of a file, so that a document reached through a symlink still finds the schema files. */
function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const isObject = (v: unknown): v is { [key: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Follows a local `#/…` pointer inside the OpenAPI document. */
function pointerGet(doc: Json, ref: string): Json | undefined {
  let node: Json | undefined = doc;
  for (const raw of ref.replace(/^#\/?/, '').split('/').filter((k) => k !== '')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = Array.isArray(node) ? node[Number(key)] : isObject(node) ? node[key] : undefined;
  }
  return node;
}

/**
 * Validates every `examples.*.value` of the OpenAPI document against the schema beside it. The schema files under
 * schemas/ are registered with Ajv under their `$id`, and the document's relative file refs are rewritten to those
 * ids, so refs between schema files resolve exactly as the generated validators resolve them.
 */
function checkOpenApiExamples(file: string): Report {
  const report: Report = { document: `${rel(file)} examples`, problems: [] };
  if (!existsSync(file)) return report;
  let doc: Json;
  try {
    doc = parseYaml(readFileSync(file, 'utf8')) as Json;
  } catch (e) {
    report.problems.push({ severity: 'error', where: rel(file), rule: 'yaml', message: String(e) });
    return report;
  }
  const fail = (where: string, rule: string, message: string): void => {
    report.problems.push({ severity: 'error', where: `${rel(file)} ${where}`, rule, message });
  };

  const ajv = new Ajv2020({ allErrors: true, logger: false });
  addFormats(ajv);
  const idOf = new Map<string, string>();
  const schemaFiles: Array<[string, { [key: string]: Json }]> = [];
  const schemasRoot = path.join(repoRoot, 'schemas');
  if (existsSync(schemasRoot)) {
    for (const entry of readdirSync(schemasRoot, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.json')) continue;
      const schemaFile = path.join(entry.parentPath, entry.name);
      try {
        const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as Json;
        if (isObject(schema)) schemaFiles.push([schemaFile, schema]);
      } catch (e) {
        fail('', 'schema-json', `${rel(schemaFile)}: ${String(e)}`);
      }
    }
  }
  // Extension keywords of the schema files (x-validation-order, …) are annotations for Ajv.
  const keywords = new Set<string>();
  const collectKeywords = (n: Json): void => {
    if (Array.isArray(n)) n.forEach(collectKeywords);
    else if (isObject(n)) for (const [k, v] of Object.entries(n)) {
      if (k.startsWith('x-')) keywords.add(k);
      else collectKeywords(v);
    }
  };
  for (const [, schema] of schemaFiles) collectKeywords(schema);
  for (const k of keywords) ajv.addKeyword(k);
  for (const [schemaFile, schema] of schemaFiles) {
    const id = typeof schema.$id === 'string' ? schema.$id : `file://${schemaFile}`;
    idOf.set(realPath(schemaFile), id);
    try {
      ajv.addSchema(schema, typeof schema.$id === 'string' ? undefined : id);
    } catch (e) {
      fail('', 'schema-invalid', `${rel(schemaFile)}: ${String(e)}`);
    }
  }

  const specDir = path.dirname(file);
  const rewrite = (n: Json): Json => {
    if (Array.isArray(n)) return n.map(rewrite);
    if (!isObject(n)) return n;
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(n)) {
      if (k === '$ref' && typeof v === 'string' && !v.startsWith('#')) {
        const [target = '', fragment] = v.split('#');
        const id = idOf.get(realPath(path.resolve(specDir, target)));
        out[k] = id ? `${id}${fragment !== undefined ? `#${fragment}` : ''}` : v;
      } else out[k] = rewrite(v);
    }
    return out;
  };
  const deref = (n: Json | undefined): Json | undefined => {
    for (let i = 0; i < 10 && isObject(n) && typeof n.$ref === 'string' && n.$ref.startsWith('#'); i++) n = pointerGet(doc, n.$ref);
    return n;
  };
  const check = (where: string, schema: Json | undefined, examples: Json | undefined): void => {
    if (schema === undefined || !isObject(examples)) return;
    let validate;
    try {
      validate = ajv.compile(rewrite(schema) as object);
    } catch (e) {
      fail(where, 'example-schema', e instanceof Error ? e.message : String(e));
      return;
    }
    for (const [name, example] of Object.entries(examples)) {
      const ex = deref(example);
      if (!isObject(ex) || !('value' in ex)) continue;
      if (!validate(ex.value)) {
        const why = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('; ');
        fail(`${where} example "${name}"`, 'example-valid', why);
      }
    }
  };
  const checkContent = (where: string, content: Json | undefined): void => {
    if (!isObject(content)) return;
    for (const [type, media] of Object.entries(content)) {
      if (isObject(media)) check(`${where} ${type}`, media.schema, media.examples);
    }
  };

  const paths = isObject(doc) && isObject(doc.paths) ? doc.paths : {};
  for (const [p, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const [method, op] of Object.entries(item)) {
      if (!isObject(op)) continue;
      const where = `${method.toUpperCase()} ${p}`;
      const params = Array.isArray(op.parameters) ? op.parameters : [];
      for (const param of params.map(deref)) {
        if (isObject(param)) check(`${where} parameter ${String(param.name)}`, param.schema, param.examples);
      }
      const body = deref(op.requestBody);
      if (isObject(body)) checkContent(`${where} request`, body.content);
      if (isObject(op.responses)) {
        for (const [status, response] of Object.entries(op.responses)) {
          const r = deref(response);
          if (isObject(r)) checkContent(`${where} ${status}`, r.content);
        }
      }
    }
  }
  return report;
}

/** Local copies of the schemas' own `$id` base, so that nothing is ever fetched over the network. */
const schemaIdBase = 'https://maestro.local/schemas/';

async function lintAsyncApi(file: string): Promise<{ report: Report; messageNames: Set<string> | null }> {
  const report: Report = { document: rel(file), problems: [] };
  if (!existsSync(file)) {
    report.problems.push({ severity: 'error', where: rel(file), rule: 'file-exists', message: 'document not found' });
    return { report, messageNames: null };
  }
  const parser = new Parser({
    __unstable: {
      resolver: {
        resolvers: [
          {
            schema: 'https',
            order: 1,
            canRead: (uri) => uri.toString().startsWith(schemaIdBase),
            read: (uri) => readFileSync(path.join(repoRoot, 'schemas', uri.toString().slice(schemaIdBase.length).split('#')[0]!), 'utf8'),
          },
        ],
      },
    },
  });
  const { document, diagnostics } = await fromFile(parser, file).parse();
  for (const d of diagnostics) {
    if (d.severity !== DiagnosticSeverity.Error && d.severity !== DiagnosticSeverity.Warning) continue;
    const source = d.source ? rel(d.source) : rel(file);
    const where = `${source}:${d.range.start.line + 1}:${d.range.start.character + 1}`;
    const pointer = d.path.length ? ` (at ${d.path.join('.')})` : '';
    report.problems.push({
      severity: d.severity === DiagnosticSeverity.Error ? 'error' : 'warning',
      where,
      rule: String(d.code),
      message: `${d.message}${pointer}`,
    });
  }
  if (!document) {
    if (!report.problems.some((p) => p.severity === 'error')) {
      report.problems.push({ severity: 'error', where: rel(file), rule: 'asyncapi-parser', message: 'the document could not be parsed' });
    }
    return { report, messageNames: null };
  }
  const messageNames = new Set<string>();
  for (const message of document.allMessages().all()) {
    const name = message.name();
    if (name) messageNames.add(name);
  }
  return { report, messageNames };
}

/** Every `x-emits` event of the REST document must be a message of the event catalogue. */
function crossCheck(openapi: string, messageNames: Set<string>): Report {
  const report: Report = { document: `${rel(openapi)} x-emits ↔ asyncapi messages`, problems: [] };
  let doc: { paths?: Record<string, Record<string, { operationId?: string; 'x-emits'?: unknown }>> };
  try {
    doc = parseYaml(readFileSync(openapi, 'utf8')) as typeof doc;
  } catch (e) {
    report.problems.push({ severity: 'error', where: rel(openapi), rule: 'yaml', message: String(e) });
    return report;
  }
  for (const [p, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, operation] of Object.entries(item)) {
      const emits = operation?.['x-emits'];
      if (!Array.isArray(emits)) continue;
      for (const name of emits) {
        if (typeof name !== 'string' || !messageNames.has(name)) {
          report.problems.push({
            severity: 'error',
            where: `${rel(openapi)} ${method.toUpperCase()} ${p}`,
            rule: 'x-emits-known-event',
            message: `${operation.operationId ?? ''} emits ${JSON.stringify(name)}, which spec/asyncapi.yaml has no message for`,
          });
        }
      }
    }
  }
  return report;
}

function print(report: Report): { errors: number; warnings: number } {
  const errors = report.problems.filter((p) => p.severity === 'error').length;
  const warnings = report.problems.length - errors;
  for (const p of report.problems) {
    console.log(`  ${p.severity === 'error' ? 'error  ' : 'warning'} ${p.where}  ${p.rule}  ${p.message}`);
  }
  console.log(`${errors === 0 ? 'ok  ' : 'FAIL'} ${report.document}: ${errors} error(s), ${warnings} warning(s)`);
  return { errors, warnings };
}

async function main(): Promise<void> {
  const reports: Report[] = [lintOpenApi(openapiFile), checkOpenApiExamples(openapiFile)];
  const asyncapi = await lintAsyncApi(asyncapiFile);
  reports.push(asyncapi.report);
  if (asyncapi.messageNames && existsSync(openapiFile)) reports.push(crossCheck(openapiFile, asyncapi.messageNames));

  let errors = 0;
  let warnings = 0;
  for (const r of reports) {
    const t = print(r);
    errors += t.errors;
    warnings += t.warnings;
  }
  console.log(`lint:spec: ${errors} error(s), ${warnings} warning(s) in ${reports.length} check(s)`);
  if (errors > 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(`lint:spec crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
