/**
 * The `tailplow run` config: tailer and processor in one process, no servers. Lines are decoded
 * as in `tail`, go through the stages as in `process` and into the sinks (the embedded store by
 * default); the file offset advances only after every sink acknowledged.
 */
import { z } from 'zod';
import { kafkaConnectionSchema } from '../kafka/connection';
import { sinkConfigSchema } from '../sinks/registry';
import { fingerprintConfigSchema } from '../stages/enrich/fingerprint';
import { stageConfigSchema } from '../stages/registry';
import { DEFAULT_RUN_DATA_DIR, SAMPLE_LOG_GLOB } from '../run/defaults';
import { httpSchema, logLevelSchema } from './common';
import { tailInputSchema } from './tail';

const runInputSchema = tailInputSchema
  .extend({
    paths: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('Files to follow (absolute paths or globs). Default: the sample logs shipped in examples/sample/*.log, to try tailplow without nginx.'),
  })
  .strict()
  .default({});

const runPipelineSchema = z
  .object({
    maxInFlightBytes: z.number().int().positive().default(8 * 1024 * 1024).describe('Bytes of log lines read but not yet stored by every sink; reading pauses above it (bounded memory).'),
    decodeWorkers: z.number().int().min(0).default(1).describe('Threads that decode lines (0: decode on the main thread).'),
    shutdownTimeoutMs: z.number().int().positive().default(10_000).describe('On SIGTERM, how long to wait for the sinks to store what is in flight.'),
  })
  .strict()
  .default({});

export const runConfigSchema = z
  .object({
    dataDir: z
      .string()
      .min(1)
      .default(DEFAULT_RUN_DATA_DIR)
      .describe('State directory: registry of offsets, embedded event store (clickhouse/), profile store (profile/), bad rows. Default: ./tailplow-data in the working directory.'),
    logLevel: logLevelSchema,
    http: httpSchema,
    input: runInputSchema,
    pipeline: runPipelineSchema,
    fingerprint: fingerprintConfigSchema.omit({ type: true }).strict().default({}).describe('event_fingerprint settings, as in `tail`.'),
    stages: z
      .array(stageConfigSchema)
      .default([{ type: 'enrich' }, { type: 'profile' }])
      .describe('Stages in the order they run. Default: enrich with its default enrichments, then profile in the embedded store (<dataDir>/profile).'),
    sinks: z
      .array(sinkConfigSchema)
      .min(1)
      .default([{ type: 'embedded' }])
      .describe('Where events go; every sink must acknowledge before the file offset advances. Default: the embedded store in <dataDir>/clickhouse.'),
    kafka: kafkaConnectionSchema.default({}).describe('Kafka connection, used only by a `kafka` sink.'),
    badRows: z
      .object({ path: z.string().min(1).optional().describe('File for bad rows (Snowplow bad-row JSON, one per line); default <dataDir>/bad-rows.ndjson.') })
      .strict()
      .default({}),
  })
  .strict();

export type RunConfig = z.output<typeof runConfigSchema>;

/** The paths `run` follows: the configured ones, else the bundled sample logs (found next to the installed package). */
export const runInputPaths = (config: RunConfig): string[] => config.input.paths ?? [SAMPLE_LOG_GLOB];
