import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * tailplow's own version, read once from its package.json (found by walking up from this file,
 * which works both from src/ under ts-node-like runners and from dist/src/ after tsc).
 */
function readVersion(): string {
  let dir = __dirname;
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, 'package.json');
    const text = readIfExists(candidate);
    if (text !== undefined) {
      const parsed = JSON.parse(text) as { name?: unknown; version?: unknown };
      if (parsed.name === 'tailplow' && typeof parsed.version === 'string') return parsed.version;
    }
    dir = dirname(dir);
  }
  // A missing package.json is a packaging bug, not bad data: fail loudly at startup.
  throw new Error(`tailplow: package.json not found above ${__dirname}`);
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export const TAILPLOW_VERSION: string = readVersion();

/** The value tailplow writes to `v_collector` and `v_etl`, and names itself with in bad rows. */
export const TAILPLOW_ARTIFACT_VERSION = `tailplow-${TAILPLOW_VERSION}`;
