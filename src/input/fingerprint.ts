/**
 * File identity: sha256 (hex) of the first `bytes` bytes of a file's content. For .gz files the
 * content is the decompressed stream, so `access.log.1` and the `access.log.1.gz` it later becomes
 * have the same identity and are not read twice.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

export const DEFAULT_FINGERPRINT_BYTES = 1024;

export function isGzipPath(path: string): boolean {
  return path.endsWith('.gz');
}

export function fingerprintOfBytes(head: Buffer): string {
  return createHash('sha256').update(head).digest('hex');
}

/**
 * The first `bytes` bytes of the file's (decompressed) content, or fewer when the content is
 * shorter. A .gz file still being written yields what can be decompressed so far.
 */
export async function readHead(path: string, bytes: number): Promise<Buffer> {
  if (isGzipPath(path)) return readGzipHead(path, bytes);
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    let filled = 0;
    while (filled < bytes) {
      const { bytesRead } = await handle.read(buf, filled, bytes - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buf.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

function readGzipHead(path: string, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let length = 0;
    const file = createReadStream(path, { highWaterMark: 16 * 1024 });
    const gunzip = createGunzip();
    const finish = () => {
      file.destroy();
      gunzip.destroy();
      const head = Buffer.concat(parts, length);
      resolve(head.subarray(0, Math.min(bytes, head.length)));
    };
    gunzip.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      length += chunk.length;
      if (length >= bytes) finish();
    });
    gunzip.on('end', finish);
    // A truncated stream (gzip still writing) ends with an error after the bytes it could decode.
    gunzip.on('error', (err: NodeJS.ErrnoException) => (err.code === 'Z_BUF_ERROR' || length > 0 ? finish() : reject(err)));
    file.on('error', reject);
    file.pipe(gunzip);
  });
}

/** The file's fingerprint, or null when its content is shorter than `bytes` (not identifiable yet). */
export async function fingerprintOf(path: string, bytes = DEFAULT_FINGERPRINT_BYTES): Promise<string | null> {
  const head = await readHead(path, bytes);
  return head.length < bytes ? null : fingerprintOfBytes(head);
}
