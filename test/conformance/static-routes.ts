/**
 * The static file routes (`x-static: true` in spec/openapi.yaml: /docs, /ui; docs/behaviour.md §14.3): every
 * documented status of each, checked for status and Content-Type (one of the documented media types), the 404 and
 * 403 bodies against their schemas. These are files, not API calls: the requests go straight to the server (not
 * through the second oracle, which judges API exchanges) and count in the coverage line like any operation.
 */
import { rawRequest } from '../support/http.js';
import { errorsText, type OperationSpec } from './spec-model.js';
import { ConformanceError, type Conformance } from './harness.js';

/** A real file name for `{asset}`: the first asset the mount's page links to. */
async function assetOf(port: number, mount: string): Promise<string> {
  const page = await rawRequest(port, 'GET', mount);
  const m = new RegExp(`(?:src|href)="${mount}/([^"/]+\\.(?:js|css))"`).exec(page.text);
  if (!m) throw new ConformanceError(`${mount}: the page links no asset`);
  return m[1];
}

function check(c: Conformance, op: OperationSpec, urlPath: string, headers: Record<string, string>, res: Awaited<ReturnType<typeof rawRequest>>, want: number): void {
  const curl = `curl -sS -i 'http://127.0.0.1:PORT${urlPath}'${Object.entries(headers).map(([k, v]) => ` -H '${k}: ${v}'`).join('')}`;
  const problems: string[] = [];
  const doc = op.responses.get(String(res.status));
  if (res.status !== want) problems.push(`status ${res.status}, want ${want}`);
  if (!doc) problems.push(`status ${res.status} is not documented for ${op.operationId}`);
  else {
    const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (!doc.contentTypes.includes(type)) problems.push(`content-type ${String(res.headers['content-type'])} is not one of ${doc.contentTypes.join(', ')}`);
    const validate = c.spec.responseValidator(op.operationId, String(res.status));
    if (type === 'application/json' && validate && !validate(res.json)) problems.push(`body invalid against the spec: ${errorsText(validate)}`);
    if (type !== 'application/json' && res.text.length === 0) problems.push('empty body');
  }
  if (problems.length > 0) throw new ConformanceError(`${op.operationId} GET ${urlPath} → ${res.status}\n  ${problems.join('\n  ')}\n  reproduce: ${curl}`);
  c.coverage.hit(op.operationId, res.status);
}

export async function staticRoutes(c: Conformance, port: number): Promise<number> {
  let checked = 0;
  for (const op of c.spec.staticOperations) {
    if (op.method !== 'GET') throw new ConformanceError(`${op.operationId}: a static route is GET (HEAD follows)`);
    const mount = op.path.split('/').slice(0, 2).join('/');
    const real = op.path.includes('{asset}') ? op.path.replace('{asset}', await assetOf(port, mount)) : op.path;
    for (const status of op.responses.keys()) {
      let urlPath = real;
      const headers: Record<string, string> = {};
      if (status === '404') urlPath = op.path.replace('{asset}', '..%2Fpackage.json');
      else if (status === '403') headers.Host = 'evil.example:3000';
      else if (status !== '200') throw new ConformanceError(`${op.operationId}: no case for the documented status ${status}`);
      check(c, op, urlPath, headers, await rawRequest(port, 'GET', urlPath, { headers }), Number(status));
      checked++;
    }
  }
  return checked;
}
