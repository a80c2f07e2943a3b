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
    workers: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(1)
      .describe(
        'Processes this instance runs (node cluster workers), each a whole pipeline with its own consumer in source.groupId, so the partitions are shared among them as among instances. One process uses one core: give it up to the cores the host leaves the processor. /metrics and /healthz cover all of them. Not with an embedded store (the embedded sink, a profile stage without redis): those belong to one process.',
      ),
    kafka: kafkaConnectionSchema.default({}),
    source: consumerSchema.default({}),
    stages: z.array(stageConfigSchema).default([{ type: 'enrich' }]).describe('Stages in the order they run. Default: one enrich stage with its default enrichments.'),
    sinks: z.array(sinkConfigSchema).min(1).default([{ type: 'kafka' }]).describe('Where processed events go; every sink must acknowledge before offsets are committed.'),
    badRows: producerSchema
      .extend({ topic: z.string().min(1).default('tracking_bad').describe('Topic for bad rows (Snowplow bad-row JSON).') })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.workers === 1) return;
    // chDB's directory and the embedded profile store's id allocation are one process's.
    config.sinks.forEach((sink, i) => {
      if (sink.type === 'embedded') ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sinks', i, 'type'], message: `the embedded sink belongs to one process: use workers: 1 with it (workers is ${config.workers})` });
    });
    config.stages.forEach((stage, i) => {
      if (stage.type === 'profile' && !stage.redis) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['stages', i, 'redis'], message: `the embedded profile store belongs to one process: give the profile stage a redis, or use workers: 1 (workers is ${config.workers})` });
    });
  });
export type ProcessConfig = z.output<typeof processConfigSchema>;
