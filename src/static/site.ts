/**
 * The static files of `/docs` and `/ui` (docs/behaviour.md §14.3), built once, in memory, at start:
 *
 * - the bundled asset folder `static/` of the package (`static/docs/`, `static/ui/`: our own pages, scripts and
 *   styles), plus the two swagger-ui files the reference needs, read from the `swagger-ui-dist` package;
 * - the web board's script `/ui/board.<hash>.js`, from dist/ui/board.js (src/ui/ bundled by scripts/build-dist.mjs);
 * - `/docs/openapi.yaml`, `/docs/asyncapi.yaml` and `/docs/events.html`, from generated/reference (the spec
 *   documents bundled at codegen time, and the event catalogue).
 *
 * Every file is an entry of a map (mount → file name → body and headers): a request can only ever name one of
 * them, so no path reaches the file system and nothing gets out of the folder (src/http/static.ts).
 * Scripts, styles and fonts are served under names holding their content hash (`init.3f9c1a2b.js`) with a
 * year-long immutable cache; HTML pages and the YAML documents keep fixed names and `no-cache`. A page names an
 * asset as `{{asset:init.js}}`, replaced by its hashed path when the site is built.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncapiYaml, eventCatalogue, openapiYaml } from '../../generated/reference/documents.js';
import { renderEventsPage } from './events-page.js';

export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly cacheControl: string;
}

/** mount (`/docs`, `/ui`) → file name (`''` is the mount's page) → file */
export type StaticSite = ReadonlyMap<string, ReadonlyMap<string, StaticFile>>;

export const STATIC_MOUNTS = ['/docs', '/ui'] as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.yaml': 'application/yaml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};
const NO_CACHE = 'no-cache';
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** The folder holding `static/` (the package root): found from this module, in src/ or in the dist/ bundle. */
export function staticFolder(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'static');
    if (existsSync(path.join(candidate, 'docs', 'index.html'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('static/ (the /docs and /ui assets) not found next to the server');
}

function typeOf(name: string): string {
  const type = TYPES[path.extname(name)];
  if (type === undefined) throw new Error(`static/: no Content-Type for ${name}`);
  return type;
}

function hashedName(name: string, body: Buffer): string {
  const ext = path.extname(name);
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return `${name.slice(0, name.length - ext.length)}.${hash}${ext}`;
}

class MountBuilder {
  readonly files = new Map<string, StaticFile>();
  /** plain asset name → its hashed path, for `{{asset:…}}` */
  readonly assets = new Map<string, string>();
  private readonly pages = new Map<string, string>();
  constructor(readonly mount: string) {}

  asset(name: string, body: Buffer): void {
    const hashed = hashedName(name, body);
    this.files.set(hashed, { body, contentType: typeOf(name), cacheControl: IMMUTABLE });
    this.assets.set(name, `${this.mount}/${hashed}`);
  }

  /** An HTML page or document under a fixed name (`''` is the mount itself); `no-cache`. */
  fixed(name: string, text: string, type = typeOf(name)): void {
    if (type.startsWith('text/html')) this.pages.set(name, text);
    else this.files.set(name, { body: Buffer.from(text, 'utf8'), contentType: type, cacheControl: NO_CACHE });
  }

  build(): Map<string, StaticFile> {
    for (const [name, text] of this.pages) {
      const html = text.replace(/\{\{asset:([^}]+)\}\}/g, (_, asset: string) => {
        const to = this.assets.get(asset);
        if (to === undefined) throw new Error(`static${this.mount}/${name || 'index.html'}: unknown asset ${asset}`);
        return to;
      });
      this.files.set(name, { body: Buffer.from(html, 'utf8'), contentType: TYPES['.html'], cacheControl: NO_CACHE });
    }
    return this.files;
  }
}

/** Reads `static/<mount>/`: index.html is the mount's page, other .html files pages, the rest assets. */
function readFolder(builder: MountBuilder, folder: string): void {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const body = readFileSync(path.join(folder, entry.name));
    if (entry.name === 'index.html') builder.fixed('', body.toString('utf8'), typeOf(entry.name));
    else if (entry.name.endsWith('.html')) builder.fixed(entry.name, body.toString('utf8'));
    else builder.asset(entry.name, body);
  }
}

/**
 * The web board's script: dist/ui/board.js, bundled from src/ui/ by scripts/build-dist.mjs (`npm start`'s
 * prestart, `npm pack`, the image; never at start). A checkout where it was not built yet gets a script that says so.
 */
function boardBundle(file: string): Buffer {
  if (existsSync(file)) return readFileSync(file);
  return Buffer.from(
    "document.getElementById('app').textContent = 'The web board is not built: run npm run build:dist (npm start does it).';\n",
    'utf8',
  );
}

export function buildStaticSite(root: string = staticFolder()): StaticSite {
  const docs = new MountBuilder('/docs');
  const swagger = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  for (const name of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
    // the bundle's trailing `//# sourceMappingURL=` would make browsers ask for a map we do not serve
    const text = readFileSync(path.join(swagger, name), 'utf8').replace(/\n\/[/*]# sourceMappingURL=\S+(\s*\*\/)?\s*$/, '\n');
    docs.asset(name, Buffer.from(text, 'utf8'));
  }
  readFolder(docs, path.join(root, 'docs'));
  docs.fixed('openapi.yaml', openapiYaml);
  docs.fixed('asyncapi.yaml', asyncapiYaml);
  docs.fixed('events.html', renderEventsPage(eventCatalogue));

  const ui = new MountBuilder('/ui');
  readFolder(ui, path.join(root, 'ui'));
  ui.asset('board.js', boardBundle(path.join(path.dirname(root), 'dist', 'ui', 'board.js')));
  return new Map([
    ['/docs', docs.build()],
    ['/ui', ui.build()],
  ]);
}

let cached: StaticSite | undefined;
/** The site of this package, built on first use and kept. */
export function staticSite(): StaticSite {
  return (cached ??= buildStaticSite());
}
