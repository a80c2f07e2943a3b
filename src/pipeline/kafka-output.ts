/** The tailer's output to Kafka: events to `topic`, bad rows to `badTopic`. */
import { isTlsVerificationError } from '../util/tls';
import type { OutMessage, Producer } from '../kafka/producer';
import type { EventOutput } from './tail';

/**
 * kafkajs marks broker-side errors retriable or not. Connection loss, leader elections and
 * timeouts are retriable (keep trying, reading pauses); a rejected message, failed
 * authentication or an untrusted broker certificate is not (stop, and let the registry
 * redeliver after the operator fixed it).
 */
export function isRetriableKafkaError(err: unknown): boolean {
  if (isTlsVerificationError(err)) return false;
  let e = err as { name?: string; retriable?: boolean; cause?: unknown; originalError?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e.name === 'KafkaJSSASLAuthenticationError') return false;
    if (e.name === 'KafkaJSProtocolError' && e.retriable === false) return false;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return true;
}

export function createKafkaEventOutput(producer: Producer, topics: { topic: string; badTopic: string }): EventOutput {
  return {
    async send(events: OutMessage[], bad: OutMessage[]) {
      await Promise.all([producer.send(topics.topic, events), producer.send(topics.badTopic, bad)]);
    },
    isRetriable: isRetriableKafkaError,
  };
}
