/**
 * Path globbing for the `paths` / `exclude` settings (Node 20 has no fs.glob). Supported: `*` and
 * `?` within one path segment, `**` for any number of directories, `[abc]` / `[a-z]` / `[!a]`
 * classes and `{a,b}` alternatives. An exclude pattern without a `/` matches the file name, one
 * with a `/` matches the whole path.
 */
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';

const GLOB_CHARS = /[*?[\]{}]/;

export function hasGlob(pattern: string): boolean {
  return GLOB_CHARS.test(pattern);
}

export function globToRegExp(pattern: string): RegExp {
  let re = '';
  let braceDepth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        // `**/` matches zero or more whole directories; a trailing `**` matches everything below.
        const slashAfter = pattern[i + 2] === '/';
        re += slashAfter ? '(?:[^/]*/)*' : '.*';
        i += slashAfter ? 2 : 1;
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) {
        re += '\\[';
      } else {
        let body = pattern.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else if (c === '{') {
      braceDepth++;
      re += '(?:';
    } else if (c === '}' && braceDepth > 0) {
      braceDepth--;
      re += ')';
    } else if (c === ',' && braceDepth > 0) {
      re += '|';
    } else {
      re += c.replace(/[.+^$()|\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

export interface PathMatcher {
  /** Directories to walk (and watch), each with the deepest level a match can be at; Infinity for `**`. */
  roots: { dir: string; maxDepth: number }[];
  matches(path: string): boolean;
}

/** Compiles absolute (or cwd-relative) include patterns and exclude patterns into one matcher. */
export function createPathMatcher(patterns: string[], exclude: string[] = [], cwd = process.cwd()): PathMatcher {
  const includes = patterns.map((p) => toPosix(isAbsolute(p) ? p : resolve(cwd, p)));
  const includeRes = includes.map(globToRegExp);
  const excludeRes = exclude.map((p) => ({ re: globToRegExp(p.includes('/') ? toPosix(isAbsolute(p) ? p : resolve(cwd, p)) : p), byName: !p.includes('/') }));
  const roots = new Map<string, number>();
  for (const pattern of includes) {
    const parts = pattern.split('/');
    const firstGlob = parts.findIndex((part) => hasGlob(part));
    // A pattern without wildcards names one file: its directory is the root, at depth 1.
    const baseParts = firstGlob === -1 ? parts.slice(0, -1) : parts.slice(0, firstGlob);
    const rest = parts.slice(baseParts.length);
    const dir = baseParts.join('/') || '/';
    const depth = rest.some((part) => part.includes('**')) ? Infinity : rest.length;
    roots.set(dir, Math.max(roots.get(dir) ?? 0, depth));
  }
  return {
    roots: [...roots].map(([dir, maxDepth]) => ({ dir, maxDepth })),
    matches(path) {
      const p = toPosix(path);
      if (!includeRes.some((re) => re.test(p))) return false;
      const name = p.slice(p.lastIndexOf('/') + 1);
      return !excludeRes.some(({ re, byName }) => re.test(byName ? name : p));
    },
  };
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

/** Regular files (symlinks followed) matching the matcher, sorted. Unreadable directories are skipped. */
export async function expandPaths(matcher: PathMatcher): Promise<string[]> {
  const found = new Set<string>();
  const walk = async (dir: string, depthLeft: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const st = await stat(path);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue;
        }
      }
      if (isFile && matcher.matches(path)) found.add(path);
      else if (isDir && depthLeft > 1) await walk(path, depthLeft - 1);
    }
  };
  // Capped so a symlink loop under `**` cannot recurse forever.
  for (const root of matcher.roots) await walk(root.dir, Math.min(root.maxDepth, 32));
  return [...found].sort();
}
