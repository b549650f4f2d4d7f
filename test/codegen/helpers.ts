/** Test helpers: a throw-away copy of the fixture spec, generated into its own generated/ folder. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { generate } from '../../codegen/generate.js';
import { writeTree } from '../../codegen/tree.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURE = path.join(REPO, 'test/codegen/fixtures');

export interface FixtureProject {
  dir: string;
  promptsDir: string;
  generatedDir: string;
  cleanup(): void;
}

/**
 * Copies the fixture (schemas/, spec/, prompts/) to a temp dir, links src/ and node_modules/ so the
 * generated router resolves `../../src/http/*.js` and its packages, and optionally generates into it.
 */
export async function fixtureProject(options: { generate?: boolean } = {}): Promise<FixtureProject> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maestro-codegen-fixture-'));
  for (const sub of ['schemas', 'spec', 'prompts']) fs.cpSync(path.join(FIXTURE, sub), path.join(dir, sub), { recursive: true });
  fs.symlinkSync(path.join(REPO, 'src'), path.join(dir, 'src'), 'dir');
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const project: FixtureProject = {
    dir,
    promptsDir: path.join(dir, 'prompts'),
    generatedDir: path.join(dir, 'generated'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  if (options.generate !== false) {
    writeTree(project.generatedDir, await generate({ root: dir, promptsDir: project.promptsDir }));
  }
  return project;
}

/** Runs the codegen CLI (`tsx codegen/main.ts …`). */
export function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO, 'codegen/main.ts'), ...args], {
    cwd: REPO,
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
