/**
 * The `kafka` sink: enriched events to `tracking_persisted` (key = visitor id), for downstream
 * consumers. Uses the processor's Kafka connection unless the sink names its own brokers.
 */
import { z } from 'zod';
import { createKafka, kafkaConnectionSchema } from '../kafka/connection';
import { createKafkaProducer, producerSchema } from '../kafka/producer';
import { isRetriableKafkaError } from '../pipeline/kafka-output';
import { visitorKeyOf } from '../pipeline/tail';
import { eventToJson } from '../snowplow/format';
import type { Sink, SinkDeps } from './sink';

export const kafkaSinkSchema = producerSchema
  .extend({
    type: z.literal('kafka'),
    topic: z.string().min(1).default('tracking_persisted').describe('Topic for the processed events.'),
    kafka: kafkaConnectionSchema.optional().describe('Another cluster than the processor reads from; default: the top-level `kafka`.'),
  })
  .strict()
  .describe('Produce processed events to Kafka.');
export type KafkaSinkConfig = z.infer<typeof kafkaSinkSchema>;

export async function createKafkaSink(config: KafkaSinkConfig, deps: SinkDeps & { kafka: z.infer<typeof kafkaConnectionSchema> }): Promise<Sink> {
  const producer = await createKafkaProducer(createKafka(config.kafka ?? deps.kafka, deps.logger), config);
  return {
    name: 'kafka',
    async write(events) {
      await producer.send(config.topic, events.map((e) => ({ key: visitorKeyOf(e), value: eventToJson(e) })));
      return { failed: [] };
    },
    isRetriable: isRetriableKafkaError,
    close: () => producer.close(),
  };
}
