import path from 'node:path';

/**
 * Whether a skill id may be used as a directory name under SKILLS_DIR (docs/behaviour.md §0.1, §5.6, §7.2 step 1).
 *
 * Refused without touching the filesystem: the empty id, ids containing `/`, `\` or NUL, `.` and `..`, ids
 * starting with `.` (hidden directories are never skills, §7.1), and anything that would not resolve to a
 * direct child of SKILLS_DIR on this platform (for example a Windows drive prefix such as `C:x`).
 */
export function isSafeSkillId(skillsDir: string, id: string): boolean {
  if (id.length === 0 || id.startsWith('.')) return false;
  if (id.includes('/') || id.includes('\\') || id.includes('\0')) return false;
  const root = path.resolve(skillsDir);
  const resolved = path.resolve(root, id);
  return path.dirname(resolved) === root && path.basename(resolved) === id;
}
