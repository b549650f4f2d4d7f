/**
 * Static files of /docs and /ui through a real server (docs/behaviour.md §14.3): headers, HEAD, traversal
 * attempts, the token exemption, the bundled spec documents and the event catalogue page.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { rawRequest, type RawResponse } from '../support/http.js';
import { startInProcess, type InProcessServer } from '../support/server.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const openapi = parseYaml(readFileSync(path.join(root, 'spec', 'openapi.yaml'), 'utf8')) as { paths: Record<string, Record<string, Record<string, unknown>>> };
const asyncapi = parseYaml(readFileSync(path.join(root, 'spec', 'asyncapi.yaml'), 'utf8')) as { components: { messages: Record<string, { name?: string }> } };
const eventNames = Object.values(asyncapi.components.messages)
  .map((m) => m.name)
  .filter((n): n is string => typeof n === 'string' && n.includes(':'));

let server: InProcessServer;
let tokenServer: InProcessServer;
const TOKEN = 'static-test-token';

beforeAll(async () => {
  server = await startInProcess();
  tokenServer = await startInProcess({ env: { MAESTRO_API_TOKEN: TOKEN } });
});
afterAll(async () => {
  await server?.close();
  await tokenServer?.close();
});

const get = (urlPath: string, method = 'GET', port = server.port, headers: Record<string, string> = {}): Promise<RawResponse> =>
  rawRequest(port, method, urlPath, { headers });

/** The asset paths a page names (`href`/`src` under its mount). */
const assetLinks = (html: string): string[] => [...html.matchAll(/(?:href|src)="(\/(?:docs|ui)\/[^"#]+)"/g)].map((m) => m[1]);

function expectStaticHeaders(res: RawResponse, type: string, cache: 'no-cache' | 'immutable'): void {
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe(type);
  if (cache === 'no-cache') expect(res.headers['cache-control']).toBe('no-cache');
  else expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  const csp = String(res.headers['content-security-policy']);
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  expect(directives.get('default-src')).toEqual(["'self'"]);
  expect(directives.get('script-src')).toEqual(["'self'"]);
  expect(csp).not.toMatch(/https?:/);
  expect(csp).not.toMatch(/\*/);
  expect(directives.get('script-src')).not.toContain("'unsafe-inline'");
  expect(directives.get('script-src')).not.toContain("'unsafe-eval'");
}

describe('static routes: status, Content-Type, Cache-Control, CSP, nosniff (docs/behaviour.md §14.3)', () => {
  it('/docs and /ui pages: HTML, no-cache, no inline script, every linked asset served with a year-long immutable cache', async () => {
    for (const page of ['/docs', '/docs/', '/ui', '/ui/', '/docs/events.html']) {
      const res = await get(page);
      expectStaticHeaders(res, 'text/html; charset=utf-8', 'no-cache');
      // scripts only by src, never inline; nothing from another origin
      for (const m of res.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
        expect(m[1]).toMatch(/src="\/(docs|ui)\//);
        expect(m[2].trim()).toBe('');
      }
      expect(res.text).not.toMatch(/(src|href)="(https?:)?\/\//);
      expect(res.text).not.toMatch(/\son[a-z]+=/i);
      for (const link of assetLinks(res.text)) {
        if (link === '/docs' || /\.(ya?ml|html)$/.test(link)) continue;
        const asset = await get(link);
        const type = link.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8';
        expectStaticHeaders(asset, type, 'immutable');
        expect(link).toMatch(/\.[0-9a-f]{12}\.(js|css)$/);
      }
    }
  });

  it('/docs loads swagger-ui from this server and an external init script that reads /docs/openapi.yaml', async () => {
    const html = (await get('/docs')).text;
    const links = assetLinks(html);
    expect(links.some((l) => /^\/docs\/swagger-ui-bundle\.[0-9a-f]{12}\.js$/.test(l))).toBe(true);
    expect(links.some((l) => /^\/docs\/swagger-ui\.[0-9a-f]{12}\.css$/.test(l))).toBe(true);
    const init = links.find((l) => /^\/docs\/init\./.test(l));
    expect(init).toBeDefined();
    expect((await get(init!)).text).toContain("url: '/docs/openapi.yaml'");
    const bundle = (await get(links.find((l) => l.includes('swagger-ui-bundle'))!)).text;
    expect(bundle).toContain('SwaggerUIBundle');
  });

  it('/ui is the board page: one external hashed script (no inline script), its style, a link to /docs', async () => {
    const res = await get('/ui');
    expect(res.text).toContain('href="/docs"');
    const scripts = [...res.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0][2].trim()).toBe('');
    const src = /src="(\/ui\/board\.[0-9a-f]{12}\.js)"/.exec(scripts[0][1])?.[1];
    expect(src).toBeDefined();
    const script = await get(src!);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('HEAD answers like GET without a body', async () => {
    for (const p of ['/docs', '/ui', '/docs/openapi.yaml', '/docs/asyncapi.yaml', '/docs/events.html']) {
      const g = await get(p);
      const h = await get(p, 'HEAD');
      expect(h.status).toBe(200);
      expect(h.text).toBe('');
      for (const k of ['content-type', 'content-length', 'cache-control', 'content-security-policy', 'x-content-type-options']) expect(h.headers[k]).toBe(g.headers[k]);
    }
  });

  it('other methods on the static paths and unknown files keep the 404 rule (docs/behaviour.md §2.0.1)', async () => {
    for (const [method, p] of [
      ['POST', '/docs'],
      ['DELETE', '/ui'],
      ['PUT', '/docs/openapi.yaml'],
      ['GET', '/docs/missing.js'],
      ['GET', '/ui/index.html'],
      ['GET', '/ui/a/b'],
      ['GET', '/docs//'],
      ['GET', '/DOCS'],
      ['GET', '/docsx'],
    ]) {
      const res = await get(p, method);
      expect(res.status, `${method} ${p}`).toBe(404);
      expect(res.json).toEqual({ error: true, code: 'NOT_FOUND', message: `Route not found: ${method} ${p}` });
    }
  });
});

describe('static routes: paths never leave the asset folder', () => {
  const attempts = [
    '/ui/../package.json',
    '/ui/%2e%2e/package.json',
    '/ui/..%2Fpackage.json',
    '/ui/..%2fpackage.json',
    '/ui/%2e%2e%2fpackage.json',
    '/ui/%00',
    '/ui/index.html%00',
    '/ui/.',
    '/ui/..',
    '/ui/%2e%2e',
    '/docs/..%2F..%2Fsrc%2Fmain.ts',
    '/docs/..%5C..%5Cpackage.json',
    '/docs/%2e%2e%2f%2e%2e%2fpackage.json',
    '/docs/....//package.json',
    '/docs/.%2e/.%2e/package.json',
    '/docs/docs.css',
    '/docs/init.js',
  ];
  it.each(attempts)('GET %s → 404 NOT_FOUND, no file content', async (p) => {
    const res = await get(p);
    expect(res.status).toBe(404);
    expect((res.json as { code?: string } | undefined)?.code).toBe('NOT_FOUND');
    expect(res.text).not.toContain('"maestro-server"');
    expect(res.text).not.toContain('import ');
    expect(res.text).not.toContain('SwaggerUIBundle');
  });
});

describe('static routes and the API token (docs/behaviour.md §6.2, §14.3)', () => {
  it('with MAESTRO_API_TOKEN set the static routes answer without a token; the API still needs it', async () => {
    const port = tokenServer.port;
    for (const p of ['/docs', '/docs/', '/ui', '/docs/openapi.yaml', '/docs/asyncapi.yaml', '/docs/events.html']) {
      expect((await get(p, 'GET', port)).status, p).toBe(200);
      expect((await get(p, 'HEAD', port)).status, p).toBe(200);
    }
    for (const link of assetLinks((await get('/docs', 'GET', port)).text)) expect((await get(link, 'GET', port)).status, link).toBe(200);
    expect((await get('/docs/missing.js', 'GET', port)).status).toBe(404);
    for (const p of ['/api/projects', '/ws-status', '/ui/a/b', '/ui/..%2Fpackage.json', '/docsx']) {
      const res = await get(p, 'GET', port);
      expect(res.status, p).toBe(401);
      expect((res.json as { code: string }).code).toBe('UNAUTHORIZED');
    }
    expect((await get('/docs', 'POST', port)).status).toBe(401);
    expect((await get('/api/projects', 'GET', port, { Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });
});

describe('/docs/openapi.yaml and /docs/asyncapi.yaml: the spec documents, bundled', () => {
  const collectRefs = (node: unknown, out: string[] = []): string[] => {
    if (Array.isArray(node)) for (const n of node) collectRefs(n, out);
    else if (node !== null && typeof node === 'object')
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref') out.push(String(v));
        else collectRefs(v, out);
      }
    return out;
  };
  const resolve = (doc: unknown, ref: string): unknown =>
    ref
      .slice(2)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);

  it.each([
    ['/docs/openapi.yaml', 'openapi'],
    ['/docs/asyncapi.yaml', 'asyncapi'],
  ])('%s parses, is the committed document, and every $ref is local and resolves', async (p, file) => {
    const res = await get(p);
    expectStaticHeaders(res, 'application/yaml; charset=utf-8', 'no-cache');
    const served = parseYaml(res.text) as Record<string, unknown>;
    const committed = parseYaml(readFileSync(path.join(root, 'spec', `${file}.yaml`), 'utf8')) as Record<string, unknown>;
    expect(served.info).toEqual(committed.info);
    expect(Object.keys(served.paths ?? served.channels ?? {})).toEqual(Object.keys(committed.paths ?? committed.channels ?? {}));
    const refs = collectRefs(served);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref.startsWith('#/'), ref).toBe(true);
      expect(resolve(served, ref), ref).toBeDefined();
    }
    expect(res.text).not.toContain('$id');
  });
});

describe('/docs/events.html: the event catalogue', () => {
  it(`lists every event of spec/asyncapi.yaml (${eventNames.length}) with its payload schema`, async () => {
    expect(eventNames).toHaveLength(23);
    const res = await get('/docs/events.html');
    for (const name of eventNames) expect(res.text, name).toContain(`<h2>${name}</h2>`);
    expect(res.text.match(/<section /g)).toHaveLength(23);
    expect(res.text.match(/<pre>/g)).toHaveLength(23);
    expect(res.text).toContain('&quot;workingDir&quot;');
  });

  it('the static routes the server serves are exactly the x-static operations of spec/openapi.yaml', async () => {
    const staticOps = Object.entries(openapi.paths).flatMap(([p, item]) =>
      Object.entries(item)
        .filter(([, op]) => op['x-static'] === true)
        .map(([method, op]) => ({ p, method, security: op.security })),
    );
    expect(staticOps.map((o) => o.p).sort()).toEqual(['/docs', '/docs/asyncapi.yaml', '/docs/openapi.yaml', '/docs/{asset}', '/ui', '/ui/{asset}']);
    for (const o of staticOps) {
      expect(o.method).toBe('get');
      expect(o.security).toEqual([]);
    }
  });
});
