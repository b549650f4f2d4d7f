/**
 * The shape of the command table that `npm run codegen` writes to generated/cli/commands.ts (codegen/emit-cli.ts).
 * The table is pure data read from spec/openapi.yaml: one command per operation, one flag per path parameter,
 * query parameter and top-level request-body property. Everything that acts on it (argument parsing, the request,
 * output, exit codes) lives in src/cli/ and never names an operation, so an operation added to the spec becomes
 * a command with no hand-written code.
 */

/** How a flag's text becomes a JSON value (src/cli/flag-values.ts). */
export type FlagKind =
  /** sent as given */
  | 'string'
  /** a finite number / a whole number */
  | 'number'
  | 'integer'
  /** `true` or `false` */
  | 'boolean'
  /** repeatable; every occurrence is one string of the array */
  | 'strings'
  /** a JSON text (objects, arrays of objects) */
  | 'json'
  /** untyped in the spec: JSON when the text is an object, array, string literal, true/false/null; else the text */
  | 'any';

export interface CliFlag {
  /** kebab-case flag name without dashes, e.g. `project-id` */
  flag: string;
  /** the parameter or body property it fills, e.g. `projectId` */
  name: string;
  in: 'path' | 'query' | 'body';
  kind: FlagKind;
  /** allowed values (the schema's `enum`), checked before any request is sent */
  choices?: string[];
  /** the literal text `null` sends JSON `null` */
  nullable: boolean;
  /** path parameters always; body properties listed in the request schema's `required` */
  required: boolean;
  /** help text: the spec's description of the parameter or property */
  description: string;
  /** the schema's `default`, shown in the help only (never sent: the server applies it) */
  defaultValue?: unknown;
}

export interface CliCommand {
  /** the group (the operation's tag, see codegen/emit-cli.ts for the naming rule) */
  group: string;
  /** the command inside its group, e.g. `list`, `add-timeline-entry` */
  name: string;
  /** the operationId: the generated client's method this command calls */
  operationId: string;
  method: string;
  path: string;
  summary: string;
  description: string;
  successStatus: number;
  flags: CliFlag[];
  /** undefined: the operation reads no body; otherwise whether the spec marks the body required */
  body?: { required: boolean; schemaTitle: string };
  /** the events the operation emits on success (`x-emits`), listed in the help */
  emits: string[];
}

export interface CliGroup {
  name: string;
  description: string;
}

export interface CliInfo {
  title: string;
  version: string;
  summary: string;
}
