/** Collects changes; the severity always comes from the rule catalogue. */
import { ruleSeverity } from './rules.js';
import type { Change, DocKind } from './types.js';

export class Changes {
  readonly list: Change[] = [];

  constructor(private readonly doc: DocKind) {}

  add(rule: string, location: string, message: string): void {
    this.list.push({ severity: ruleSeverity(rule), rule, location, message, doc: this.doc });
  }
}

/** Short printable form of a JSON value for messages. */
export function show(value: unknown, max = 60): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
