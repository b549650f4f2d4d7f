/**
 * One codegen run, in memory: load the spec, run every emitter, return generated-path → content.
 * Deterministic: no timestamps, no absolute paths, sorted inputs.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpec } from './load-spec.js';
import { Output, type GeneratedFiles } from './output.js';
import { emitTypes } from './emit-types.js';
import { emitValidators } from './emit-validators.js';
import { emitRoutes } from './emit-routes.js';
import { emitEvents } from './emit-events.js';
import { emitClient } from './emit-client.js';
import { emitCli } from './emit-cli.js';
import { emitPrompts } from './emit-prompts.js';
import { emitModel } from './emit-model.js';
import { emitReference } from './emit-reference.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface GenerateOptions {
  /** folder holding schemas/ and spec/ (default: this project) */
  root?: string;
  /** folder holding worker.md and orchestrator.md (default: <root>/templates/prompts) */
  promptsDir?: string;
  /** handlebars templates (default: this project's templates/) */
  templatesRoot?: string;
  /** progress lines; default: none */
  log?: (line: string) => void;
}

export async function generate(options: GenerateOptions = {}): Promise<GeneratedFiles> {
  const root = path.resolve(options.root ?? PROJECT_ROOT);
  const templatesRoot = options.templatesRoot ?? path.join(PROJECT_ROOT, 'templates');
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const spec = loadSpec({ root, promptsDir: options.promptsDir });
  log(`loaded ${spec.schemas.length} schemas, openapi, asyncapi (${Math.round(performance.now() - started)} ms)`);
  const out = new Output(spec.schemas.length);
  const emitters: [string, () => void | Promise<void>][] = [
    ['types', () => emitTypes(spec, out)],
    ['validators', () => emitValidators(spec, out)],
    ['routes', () => emitRoutes(spec, out, templatesRoot)],
    ['events', () => emitEvents(spec, out, templatesRoot)],
    ['client', () => emitClient(spec, out, templatesRoot)],
    ['cli', () => emitCli(spec, out, templatesRoot)],
    ['prompts', () => emitPrompts(spec, out)],
    ['model', () => emitModel(spec, out)],
    ['reference', () => emitReference(spec, out)],
  ];
  for (const [name, run] of emitters) {
    const before = out.files.size;
    const t0 = performance.now();
    await run();
    log(`${name.padEnd(10)} ${String(out.files.size - before).padStart(3)} files ${String(Math.round(performance.now() - t0)).padStart(5)} ms`);
  }
  return new Map([...out.files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
