/** The `tailplow tail` config: follow nginx logs, produce events to Kafka. */
import { z } from 'zod';
import { tailInputConfigSchema } from '../input/config';
import { kafkaConnectionSchema } from '../kafka/connection';
import { fingerprintConfigSchema } from '../stages/enrich/fingerprint';
import { producerSchema } from '../kafka/producer';
import { dataDirSchema, httpSchema, logLevelSchema } from './common';

export const logFormatSchema = z
  .string()
  .min(1)
  .default('json')
  .describe("Log format: json (tailplow's recommended format, or any JSON keyed by nginx variable names), combined, main, or an nginx log_format string.");

export const tailInputSchema = tailInputConfigSchema
  .omit({ dataDir: true })
  .extend({ format: logFormatSchema })
  .strict();

export const tailOutputSchema = producerSchema
  .extend({
    topic: z.string().min(1).default('tracking_raw').describe('Topic for events; key = domain_userid, else network_userid, else the user IP.'),
    badTopic: z.string().min(1).default('tracking_bad').describe('Topic for bad rows (Snowplow bad-row JSON).'),
    maxInFlightBytes: z.number().int().positive().default(8 * 1024 * 1024).describe('Bytes of log lines read but not yet acknowledged by Kafka; reading pauses above it (bounded memory).'),
    decodeWorkers: z.number().int().min(0).default(1).describe('Threads that decode lines (0: decode on the main thread). One keeps the main thread free for reading and Kafka; more help only with more cores.'),
    decodeWorkerNice: z
      .number()
      .int()
      .min(0)
      .max(19)
      .default(10)
      .describe(
        'How much nicer than the main thread the decode threads run (Linux; up to niceness 19). Decoding runs ahead of Kafka by up to maxInFlightBytes, while each Kafka request is encoded and compressed on the main thread only after the previous one was acknowledged: when both want a core, that chain should get it. 0: the same priority.',
      ),
    shutdownTimeoutMs: z.number().int().positive().default(10_000).describe('On SIGTERM, how long to wait for Kafka to acknowledge what is in flight.'),
  })
  .strict()
  .default({});

export const tailConfigSchema = z
  .object({
    dataDir: dataDirSchema,
    logLevel: logLevelSchema,
    http: httpSchema,
    input: tailInputSchema,
    kafka: kafkaConnectionSchema.default({}),
    output: tailOutputSchema,
    fingerprint: fingerprintConfigSchema
      .omit({ type: true })
      .strict()
      .default({})
      .describe("event_fingerprint, Snowplow's hash of an event's raw tracker parameters (computed here: only the tailer still has them)."),
  })
  .strict();

export type TailConfig = z.output<typeof tailConfigSchema>;
