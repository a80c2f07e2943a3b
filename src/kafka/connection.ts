/**
 * Kafka connection settings shared by the tailer's output, the processor's source and the
 * kafka sink: one schema, one place that builds the kafkajs client. kafkajs stays behind
 * this module and producer.ts/consumer.ts, so it can be swapped without touching stages.
 */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { z } from 'zod';
import type { Logger } from '../util/logger';

export const kafkaConnectionSchema = z
  .object({
    brokers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9092']).describe('Bootstrap brokers, host:port.'),
    clientId: z.string().default('tailplow').describe('Client id shown in broker logs and quotas.'),
    tls: z
      .union([
        z.boolean(),
        z
          .object({
            caFile: z.string().optional().describe('PEM file with the CA that signed the brokers.'),
            certFile: z.string().optional().describe('Client certificate (PEM) for mutual TLS.'),
            keyFile: z.string().optional().describe('Client private key (PEM) for mutual TLS.'),
            rejectUnauthorized: z.boolean().default(true),
          })
          .strict(),
      ])
      .default(false)
      .describe('TLS to the brokers: true for the system CAs, or files.'),
    sasl: z
      .object({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
        username: z.string(),
        password: z.string().describe('Use ${ENV_VAR} or ${file:/path}: never write it here in clear.'),
      })
      .strict()
      .optional(),
    connectionTimeoutMs: z.number().int().positive().default(3000),
    requestTimeoutMs: z.number().int().positive().default(30000),
  })
  .strict();
export type KafkaConnectionConfig = z.infer<typeof kafkaConnectionSchema>;

export function createKafka(conf: KafkaConnectionConfig, logger: Logger): Kafka {
  const config: KafkaConfig = {
    brokers: conf.brokers,
    clientId: conf.clientId,
    connectionTimeout: conf.connectionTimeoutMs,
    requestTimeout: conf.requestTimeoutMs,
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      const { message, timestamp: _t, logger: _l, ...rest } = entry.log;
      // kafkajs logs every failed request at ERROR, even those it retries; our code reports what
      // really failed, so theirs are warnings. Its retry-count notice is about a setting we chose.
      const noise = message.startsWith('Limiting retries for the idempotent producer');
      const level = noise ? 'debug' : entry.level <= logLevel.WARN ? 'warn' : 'debug';
      logger[level]({ kafka: entry.namespace, ...rest }, message);
    },
    retry: { initialRetryTime: 100, maxRetryTime: 5000, retries: 5 },
  };
  if (conf.tls === true) config.ssl = true;
  else if (conf.tls) {
    config.ssl = {
      rejectUnauthorized: conf.tls.rejectUnauthorized,
      ...(conf.tls.caFile ? { ca: [readFileSync(conf.tls.caFile, 'utf8')] } : {}),
      ...(conf.tls.certFile ? { cert: readFileSync(conf.tls.certFile, 'utf8') } : {}),
      ...(conf.tls.keyFile ? { key: readFileSync(conf.tls.keyFile, 'utf8') } : {}),
    };
  }
  if (conf.sasl) {
    config.sasl = { mechanism: conf.sasl.mechanism, username: conf.sasl.username, password: conf.sasl.password } as SASLOptions;
  }
  return new Kafka(config);
}
