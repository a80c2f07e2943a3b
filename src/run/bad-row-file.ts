/**
 * Where `run` (and `replay --output embedded`) put bad rows: Snowplow bad-row JSON, one per line,
 * appended to a file in the data directory. A send is acknowledged after fdatasync, like the file
 * sink, so the file offset never moves past a bad row that could still be lost. A partial last
 * line left by a kill -9 belongs to an unacknowledged batch and is cut off at open.
 */
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BadRowSender } from '../pipeline/process';
import { dropTornLastLine } from '../replay/outputs';

export interface BadRowFile extends BadRowSender {
  readonly path: string;
  close(): Promise<void>;
}

export async function openBadRowFile(path: string): Promise<BadRowFile> {
  mkdirSync(dirname(path), { recursive: true });
  dropTornLastLine(path);
  const fh = await open(path, 'a');
  return {
    path,
    async send(rows) {
      if (rows.length === 0) return;
      let text = '';
      for (const r of rows) text += (Buffer.isBuffer(r.value) ? r.value.toString('utf8') : String(r.value)) + '\n';
      await fh.write(text);
      await fh.datasync();
    },
    close: () => fh.close(),
  };
}
