/** Settings every long-running command shares. */
import { z } from 'zod';

export const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level of the JSON logs on stderr (TAILPLOW_LOG_LEVEL overrides).');

export const httpSchema = z
  .object({
    listen: z.string().default('127.0.0.1:9464').describe('host:port of /metrics and /healthz. Loopback by default; binding another address exposes file paths and traffic volumes, so do it on purpose.'),
    enabled: z.boolean().default(true),
  })
  .strict()
  .default({})
  .describe('The metrics and health endpoint.');

export const dataDirSchema = z.string().min(1).default('/var/lib/tailplow').describe('Where tailplow keeps its state (registry of offsets, embedded stores).');
