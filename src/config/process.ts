/** The `tailplow process` config: consume tracking_raw, run stages, write to sinks. */
import { z } from 'zod';
import { consumerSchema } from '../kafka/consumer';
import { kafkaConnectionSchema } from '../kafka/connection';
import { producerSchema } from '../kafka/producer';
import { sinkConfigSchema } from '../sinks/registry';
import { stageConfigSchema } from '../stages/registry';
import { dataDirSchema, httpSchema, logLevelSchema } from './common';

export const processConfigSchema = z
  .object({
    dataDir: dataDirSchema,
    logLevel: logLevelSchema,
    http: httpSchema,
    kafka: kafkaConnectionSchema.default({}),
    source: consumerSchema.default({}),
    stages: z.array(stageConfigSchema).default([{ type: 'enrich' }]).describe('Stages in the order they run. Default: one enrich stage with its default enrichments.'),
    sinks: z.array(sinkConfigSchema).min(1).default([{ type: 'kafka' }]).describe('Where processed events go; every sink must acknowledge before offsets are committed.'),
    badRows: producerSchema
      .extend({ topic: z.string().min(1).default('tracking_bad').describe('Topic for bad rows (Snowplow bad-row JSON).') })
      .strict()
      .default({}),
  })
  .strict();
export type ProcessConfig = z.output<typeof processConfigSchema>;
