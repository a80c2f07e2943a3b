/**
 * Kafka connection settings shared by the tailer's output, the processor's source and the
 * kafka sink: one schema, one place that builds the kafkajs client. kafkajs stays behind
 * this module and producer.ts/consumer.ts, so it can be swapped without touching stages.
 */
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { z } from 'zod';
import type { Logger } from '../util/logger';
import { readPem } from '../util/tls';
import { registerKafkaCodecs } from './codecs';

export const kafkaConnectionSchema = z
  .object({
    brokers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9092']).describe('Bootstrap brokers, host:port.'),
    clientId: z.string().default('tailplow').describe('Client id shown in broker logs and quotas.'),
    tls: z
      .union([
        z.boolean(),
        z
          .object({
            caFile: z.string().min(1).optional().describe('PEM file with the CA that signed the brokers (default: the system CAs).'),
            certFile: z.string().min(1).optional().describe('Client certificate (PEM) for mutual TLS; needs keyFile.'),
            keyFile: z.string().min(1).optional().describe('Client private key (PEM, unencrypted) for mutual TLS; needs certFile. Keep it readable only by tailplow\'s user.'),
            servername: z.string().min(1).optional().describe('Name the broker certificates must carry (SNI and verification) when it differs from the host in `brokers`.'),
            rejectUnauthorized: z.boolean().default(true).describe('Verify the brokers\' certificates. Only for tests: false accepts any certificate, so anyone in the path can read the traffic.'),
          })
          .strict()
          .refine((tls) => !tls.certFile === !tls.keyFile, { message: 'certFile and keyFile go together (mutual TLS needs both)' }),
      ])
      .default(false)
      .describe('TLS to the brokers: true for the system CAs, or files.'),
    sasl: z
      .object({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).describe('SASL mechanism the broker listener enables. plain sends the password itself, so use it only with tls.'),
        username: z.string().min(1),
        password: z.string().min(1).describe('Use ${ENV_VAR} or ${file:/path}: never write it here in clear.'),
      })
      .strict()
      .optional()
      .describe('SASL authentication (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512).'),
    connectionTimeoutMs: z.number().int().positive().default(3000),
    requestTimeoutMs: z.number().int().positive().default(30000),
  })
  .strict();
export type KafkaConnectionConfig = z.infer<typeof kafkaConnectionSchema>;

export function createKafka(conf: KafkaConnectionConfig, logger: Logger): Kafka {
  registerKafkaCodecs();
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
    const tls = conf.tls;
    config.ssl = {
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.caFile ? { ca: [readPem('kafka.tls.caFile', tls.caFile)] } : {}),
      ...(tls.certFile ? { cert: readPem('kafka.tls.certFile', tls.certFile) } : {}),
      ...(tls.keyFile ? { key: readPem('kafka.tls.keyFile', tls.keyFile) } : {}),
      ...(tls.servername ? { servername: tls.servername } : {}),
    };
  }
  if (conf.sasl) {
    config.sasl = { mechanism: conf.sasl.mechanism, username: conf.sasl.username, password: conf.sasl.password } as SASLOptions;
  }
  return new Kafka(config);
}
