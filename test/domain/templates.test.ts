import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Role, Template } from '../../generated/types/index.js';
import { DEFAULT_TEMPLATE_NAMES, planDefaultTemplateSeeding, resolveTemplateForRole } from '../../src/templates/resolve.js';

function template(id: string, role: Role, createdAt: number, isDefault = false): Template {
  return { id, name: `T ${id}`, role, content: 'text', isDefault, createdAt, updatedAt: createdAt };
}

describe('role resolution (docs/behaviour.md §10.3)', () => {
  it('prefers the role default over older non-defaults', () => {
    const templates = [template('tmpl_1', 'worker', 1), template('tmpl_2', 'worker', 5, true), template('tmpl_0', 'orchestrator', 0, true)];
    expect(resolveTemplateForRole(templates, 'worker')?.id).toBe('tmpl_2');
    expect(resolveTemplateForRole(templates, 'orchestrator')?.id).toBe('tmpl_0');
  });

  it('takes the oldest default by createdAt, then id (plain string order)', () => {
    const templates = [template('tmpl_b', 'worker', 7, true), template('tmpl_c', 'worker', 3, true), template('tmpl_a', 'worker', 7, true)];
    expect(resolveTemplateForRole(templates, 'worker')?.id).toBe('tmpl_c');
    const tie = [template('tmpl_b', 'worker', 7, true), template('tmpl_B', 'worker', 7, true), template('tmpl_a', 'worker', 7, true)];
    // Plain string order: upper case sorts before lower case.
    expect(resolveTemplateForRole(tie, 'worker')?.id).toBe('tmpl_B');
  });

  it('falls back to the oldest template of the role when it has no default', () => {
    const templates = [template('tmpl_9', 'worker', 9), template('tmpl_2', 'worker', 2), template('tmpl_1', 'orchestrator', 1, true)];
    expect(resolveTemplateForRole(templates, 'worker')?.id).toBe('tmpl_2');
  });

  it('gives undefined when the role has no template', () => {
    expect(resolveTemplateForRole([template('tmpl_1', 'worker', 1, true)], 'orchestrator')).toBeUndefined();
    expect(resolveTemplateForRole([], 'worker')).toBeUndefined();
  });

  it('accepts any iterable (e.g. a Map of the store)', () => {
    const map = new Map([['tmpl_1', template('tmpl_1', 'worker', 1)]]);
    expect(resolveTemplateForRole(map.values(), 'worker')?.id).toBe('tmpl_1');
  });
});

describe('seeding plan (docs/behaviour.md §10.2)', () => {
  it('a fresh store gets worker then orchestrator defaults, with the names of docs/behaviour.md', () => {
    expect(planDefaultTemplateSeeding([])).toEqual([
      { role: 'worker', name: 'Default Worker Template', isDefault: true },
      { role: 'orchestrator', name: 'Default Orchestrator Template', isDefault: true },
    ]);
    expect(DEFAULT_TEMPLATE_NAMES).toEqual({ worker: 'Default Worker Template', orchestrator: 'Default Orchestrator Template' });
  });

  it('a role with any template (default or not) gets nothing', () => {
    expect(planDefaultTemplateSeeding([template('tmpl_1', 'worker', 1)])).toEqual([
      { role: 'orchestrator', name: 'Default Orchestrator Template', isDefault: true },
    ]);
    expect(planDefaultTemplateSeeding([template('tmpl_1', 'orchestrator', 1, true)])).toEqual([
      { role: 'worker', name: 'Default Worker Template', isDefault: true },
    ]);
    expect(planDefaultTemplateSeeding([template('a', 'orchestrator', 1), template('b', 'worker', 1)])).toEqual([]);
  });
});

async function prompt(role: Role): Promise<string> {
  return readFile(fileURLToPath(new URL(`../../templates/prompts/${role}.md`, import.meta.url)), 'utf8');
}

/** The text with every run of whitespace collapsed, so that checks do not depend on line wrapping. */
async function flatPrompt(role: Role): Promise<string> {
  return (await prompt(role)).replace(/\s+/g, ' ');
}

const QUEUE_COMMANDS = [
  'maestro queue start',
  'maestro queue complete',
  'maestro queue fail --reason "<reason>"',
  'maestro queue skip',
  'maestro queue top',
  'maestro queue list',
  'maestro queue status',
  'maestro queue push <taskId>',
];

const REPORT_COMMANDS = [
  'maestro report progress "<message>" [--task <taskId>]',
  'maestro report complete',
  'maestro report blocked',
  'maestro report error',
  'maestro report needs-input',
];

describe('built-in default texts (docs/behaviour.md §10.4)', () => {
  it('the worker text covers role, context, workflow, reporting, limits, queue and finishing', async () => {
    const text = await flatPrompt('worker');
    for (const command of ['maestro whoami', 'maestro task get [taskId]', ...REPORT_COMMANDS, ...QUEUE_COMMANDS]) {
      expect(text, command).toContain(command);
    }
    for (const heading of ['## Your role', '## Getting context', '## Workflow', '## Reporting progress', '## Limits', '## Queue strategy', '## Finishing']) {
      expect(text, heading).toContain(heading);
    }
    expect(text).toMatch(/worker/i);
    expect(text).toContain('acceptance criteria');
    expect(text).toMatch(/manifest/);
    // Limits: what a worker does not do.
    expect(text).toMatch(/do not change a task's status, title or priority/);
    expect(text).toMatch(/do not spawn other sessions/);
    expect(text).toMatch(/projects/);
    // Finishing: report complete without --task ends the session.
    expect(text).toMatch(/`maestro report complete "<summary>"` \*\*without\*\* `--task`/);
    expect(text).toMatch(/ends the session/);
    // Queue loop: repeat until start reports an empty queue.
    expect(text).toMatch(/until `maestro queue start` reports that the queue is empty/);
  });

  it('the orchestrator text covers planning, delegation, monitoring, reporting, limits, queue and finishing', async () => {
    const text = await flatPrompt('orchestrator');
    const commands = [
      'maestro whoami',
      'maestro task list',
      'maestro task tree',
      'maestro task get <taskId>',
      'maestro status',
      'maestro task create --parent <taskId>',
      'maestro session spawn --task <taskId> [--skill <skill>] [--reason "<why>"]',
      'maestro session list',
      'maestro task update <taskId>',
      'maestro task complete <taskId>',
      'maestro task block <taskId>',
      ...REPORT_COMMANDS,
      ...QUEUE_COMMANDS,
    ];
    for (const command of commands) expect(text, command).toContain(command);
    for (const heading of ['## Your role', '## Getting context', '## Workflow', '## Reporting progress', '## Limits', '## Queue strategy', '## Finishing']) {
      expect(text, heading).toContain(heading);
    }
    expect(text).toMatch(/do \*\*not\*\* implement the work yourself/);
    expect(text).toMatch(/Delegate implementation/);
    expect(text).toMatch(/Keep tasks and sessions consistent/);
    expect(text).toMatch(/strategy is `queue`/);
  });

  it('both texts read correctly verbatim: no placeholders to substitute', async () => {
    for (const role of ['worker', 'orchestrator'] as const) {
      const text = await prompt(role);
      expect(text).not.toMatch(/\{\{|\}\}|\$\{|%s|\{[a-zA-Z_]+\}/);
      expect(text.trim().length).toBeGreaterThan(1000);
      expect(text.endsWith('\n')).toBe(true);
    }
  });
});
