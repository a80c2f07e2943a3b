import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package version, read once from package.json (dist/src/version.js sits two levels below it). */
export const VERSION: string = (() => {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, rel), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tailplow' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate: the layout differs between src (ts-node) and dist
    }
  }
  return '0.0.0';
})();
