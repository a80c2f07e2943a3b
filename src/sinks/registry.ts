/** Sink types by config `type`. Adding a sink: one file, one schema entry, one factory line. */
import { z } from 'zod';
import type { KafkaConnectionConfig } from '../kafka/connection';
import { clickhouseSinkSchema, createClickHouseSink } from './clickhouse';
import { createElasticsearchSink, elasticsearchSinkSchema } from './elasticsearch';
import { createEmbeddedSink, embeddedSinkSchema } from './embedded';
import { createFileSink, fileSinkSchema } from './file';
import { createKafkaSink, kafkaSinkSchema } from './kafka';
import type { Sink, SinkDeps } from './sink';

export const sinkConfigSchema = z.discriminatedUnion('type', [kafkaSinkSchema, fileSinkSchema, clickhouseSinkSchema, embeddedSinkSchema, elasticsearchSinkSchema]).describe('A sink; `type` picks the implementation.');
export type SinkConfig = z.infer<typeof sinkConfigSchema>;

export function createSink(config: SinkConfig, deps: SinkDeps & { kafka: KafkaConnectionConfig }): Promise<Sink> {
  switch (config.type) {
    case 'kafka':
      return createKafkaSink(config, deps);
    case 'file':
      return createFileSink(config, deps);
    case 'clickhouse':
      return createClickHouseSink(config, deps);
    case 'embedded':
      return createEmbeddedSink(config, deps);
    case 'elasticsearch':
      return createElasticsearchSink(config, deps);
  }
}
