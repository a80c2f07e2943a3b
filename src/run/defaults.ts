/**
 * What `tailplow run` uses when nothing is configured: the sample logs shipped with tailplow
 * (examples/sample, found next to the installed package, so any working directory works) and a
 * data directory in the working directory, so a first try needs no root and no servers.
 */
import { join, resolve } from 'node:path';

/** The repository (or installed package) root: dist/src/run/ -> ../../.. */
const PACKAGE_ROOT = resolve(__dirname, '../../..');

const SAMPLE_DIR = join(PACKAGE_ROOT, 'examples', 'sample');
export const SAMPLE_LOG_GLOB = join(SAMPLE_DIR, '*.log');

/** Relative to the working directory; `--data-dir` or `dataDir:` moves it. */
export const DEFAULT_RUN_DATA_DIR = 'tailplow-data';

/** Bad rows (Snowplow bad-row JSON, one per line) go here unless `badRows.path` says otherwise. */
export const badRowsPathOf = (dataDir: string, configured?: string) => configured ?? join(dataDir, 'bad-rows.ndjson');

/** Written by `run` while it holds the embedded store, so `query` can say who holds it. */
export const runPidFileOf = (dataDir: string) => join(dataDir, 'run.pid');
