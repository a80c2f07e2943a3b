/** The file-following input: tailing with offsets and acks, plus whole-file reading for replay. */
export { createTailInput, type TailInput, type TailInputDeps, type TailInputStats, type FileStats, type FileState } from './tail-input';
export { tailInputConfigSchema, resolveTailInputConfig, type TailInputConfig, type TailInputOptions } from './config';
export { openLineSource, type LineSource, type LineSourceOptions } from './line-source';
export { fingerprintOf, fingerprintOfBytes, isGzipPath, DEFAULT_FINGERPRINT_BYTES } from './fingerprint';
export { createPathMatcher, expandPaths, globToRegExp, type PathMatcher } from './glob';
export { loadRegistry, registryPath, REGISTRY_FILE, type RegistryEntry, type RegistryEntries } from './registry';
export type { LineRecord, LineBatch, Clock } from './types';
