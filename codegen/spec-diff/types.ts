/** Shared types of the spec diff (`npm run spec:diff`). */

export type Severity = 'breaking' | 'non-breaking' | 'info';

/** Which spec document a change belongs to; decides which `info.version` a major bump is read from. */
export type DocKind = 'openapi' | 'asyncapi';

export interface Change {
  severity: Severity;
  rule: string;
  /** e.g. `POST /api/tasks request.body.title`, `event task:created payload.data.title` */
  location: string;
  /** one human sentence: what changed */
  message: string;
  doc: DocKind;
  /** set by the allowance step for a deliberate break (major bump or spec/changes.yaml) */
  allowed?: boolean;
  allowedBy?: string;
}

/** A spec tree: every JSON/YAML file under spec/ and schemas/, parsed, keyed by its POSIX path ("spec/openapi.yaml"). */
export interface SpecTree {
  label: string;
  files: Map<string, unknown>;
}

/** A problem loading or resolving a spec (exit code 2). */
export class LoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoadError';
  }
}

/** A bad command line (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
