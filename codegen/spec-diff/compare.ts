/** The comparison engine: two spec trees in, a list of classified changes out (no git, no I/O). */
import { ASYNCAPI_FILE, compareAsyncApi } from './asyncapi-compare.js';
import { compareOpenApi, OPENAPI_FILE, side } from './openapi-compare.js';
import { Resolver } from './resolve.js';
import type { Change, Severity, SpecTree } from './types.js';

export interface Versions {
  openapi?: string;
  asyncapi?: string;
}

export interface Comparison {
  changes: Change[];
  versions: { old: Versions; new: Versions };
}

const ORDER: Record<Severity, number> = { breaking: 0, 'non-breaking': 1, info: 2 };

function version(tree: SpecTree, file: string): string | undefined {
  const doc = tree.files.get(file) as { info?: { version?: unknown } } | undefined;
  const value = doc?.info?.version;
  return value === undefined || value === null ? undefined : String(value);
}

export function compareTrees(oldTree: SpecTree, newTree: SpecTree): Comparison {
  const oldR = new Resolver(oldTree);
  const newR = new Resolver(newTree);
  oldR.checkAll();
  newR.checkAll();
  const changes = [
    ...compareOpenApi(side(oldR, OPENAPI_FILE), side(newR, OPENAPI_FILE)).list,
    ...compareAsyncApi(side(oldR, ASYNCAPI_FILE), side(newR, ASYNCAPI_FILE)).list,
  ];
  // stable: by severity, then in document order
  const sorted = changes.map((change, index) => ({ change, index }))
    .sort((x, y) => ORDER[x.change.severity] - ORDER[y.change.severity] || x.index - y.index)
    .map(({ change }) => change);
  return {
    changes: sorted,
    versions: {
      old: { openapi: version(oldTree, OPENAPI_FILE), asyncapi: version(oldTree, ASYNCAPI_FILE) },
      new: { openapi: version(newTree, OPENAPI_FILE), asyncapi: version(newTree, ASYNCAPI_FILE) },
    },
  };
}
