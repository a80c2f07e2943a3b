/**
 * Lowercase hex digest of a string's UTF-8 bytes. Uses the one-shot `crypto.hash` where Node has
 * it (20.12+; about twice as fast for short inputs as a Hash object per call) and falls back to
 * `createHash` on older 20.x releases.
 */
import * as crypto from 'node:crypto';

export const hexDigest: (algorithm: string, text: string) => string =
  typeof crypto.hash === 'function'
    ? (algorithm, text) => crypto.hash(algorithm, text, 'hex')
    : (algorithm, text) => crypto.createHash(algorithm).update(text, 'utf8').digest('hex');
