/**
 * `--base auto`: what to compare the working tree against.
 *  1. `git merge-base HEAD origin/main`, when origin/main exists and the merge base is not HEAD itself
 *     (a branch or pull request: everything the branch changed);
 *  2. else `HEAD~1`, when it exists (a clean clone of main, where the merge base is HEAD: the last commit);
 *  3. else null: nothing to compare (a single-commit or shallow clone).
 */
import { git, resolveCommit } from './load.js';

export interface AutoBase {
  ref: string;
  why: string;
}

export function pickAutoBase(cwd: string, mainRef = 'origin/main'): AutoBase | null {
  const head = resolveCommit('HEAD', cwd);
  if (!head) return null;
  const hasMain = resolveCommit(mainRef, cwd) !== null;
  if (hasMain) {
    const mergeBase = git(['merge-base', 'HEAD', mainRef], cwd);
    const commit = mergeBase.stdout.trim();
    if (mergeBase.status === 0 && commit !== '' && commit !== head) return { ref: commit, why: `merge base of HEAD and ${mainRef}` };
  }
  const parent = resolveCommit('HEAD~1', cwd);
  if (parent) return { ref: parent, why: hasMain ? `HEAD~1 (HEAD is the merge base with ${mainRef})` : `HEAD~1 (no ${mainRef})` };
  return null;
}
