/**
 * Settings of the file-following input. The zod schema is the documentation: descriptions and
 * defaults here are what `check-config` and the README show.
 */
import { z } from 'zod';

export const tailInputConfigSchema = z.object({
  paths: z.array(z.string().min(1)).min(1).describe('Files to follow: absolute paths or globs (`*`, `?`, `**`, `[a-z]`, `{a,b}`), e.g. /var/log/nginx/tracker.log*'),
  exclude: z.array(z.string().min(1)).default([]).describe('Globs to leave out; without a `/` they match the file name, e.g. `*.gz`'),
  startAt: z.enum(['end', 'beginning']).default('end').describe('Where to start in files present at startup that the registry does not know. Files appearing later, and files created while the agent was stopped (after its last registry save: a rotation, the next dated file), are always read from the beginning'),
  fingerprintBytes: z.number().int().min(64).default(1024).describe('File identity is the sha256 of this many first bytes (decompressed for .gz); shorter files are tracked by device+inode until they grow. Two files that start with the same bytes are taken for copies and only one is read: raise it for logs that begin with a fixed header'),
  maxLineBytes: z.number().int().min(1024).default(1024 * 1024).describe('Longer lines are cut to this size and passed on as a bad row; the rest of the line is skipped'),
  maxOpenFiles: z.number().int().min(1).default(256).describe('Cap on open file descriptors; idle or finished files are closed and reopened when they change'),
  pollIntervalMs: z.number().int().min(10).default(1000).describe('How often files are checked when no change events arrive (also finds new and rotated files)'),
  usePolling: z.enum(['auto', 'always', 'never']).default('auto').describe('auto: change events plus polling; always: polling only (network filesystems); never: events only'),
  closeInactiveMs: z.number().int().min(0).default(5 * 60_000).describe('Close a file that has not grown for this long (a rotated file nginx may still be writing to stays open until then). A closed file that is written to and then deleted, or moved out of `paths`, before the next look loses those lines, as with Filebeat\'s close_inactive'),
  cleanRemovedAfterMs: z.number().int().min(0).default(60 * 60_000).describe('Forget the offset of a vanished file this long after it vanished'),
  readBufferBytes: z.number().int().min(4096).default(256 * 1024).describe('Bytes read per turn; one busy file reads at most this much before the next file gets its turn'),
  maxBatchLines: z.number().int().min(1).default(1000).describe('Lines per batch at most'),
  maxInFlightBatches: z.number().int().min(1).default(256).describe('Batches handed out but not acknowledged at most; reading pauses at the cap'),
  registryFlushMs: z.number().int().min(10).default(1000).describe('How often changed offsets are written to the registry'),
  dataDir: z.string().min(1).describe('Directory of the registry of offsets (input-registry.json)'),
});

export type TailInputConfig = z.output<typeof tailInputConfigSchema>;
/** What callers pass: everything but `paths` and `dataDir` has a default. */
export type TailInputOptions = z.input<typeof tailInputConfigSchema>;

export function resolveTailInputConfig(options: TailInputOptions): TailInputConfig {
  return tailInputConfigSchema.parse(options);
}
