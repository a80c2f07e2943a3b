/**
 * The `elasticsearch` sink: events bulk-indexed with `_id` = event_id, so a replay or a
 * redelivery overwrites the stored document instead of adding a second one. At startup it
 * installs an index template with explicit mappings (src/storage/elasticsearch-template.ts).
 *
 * Within one write, items Elasticsearch rejects because it is busy (429/502/503/504) are sent
 * again with backoff; if they are still rejected after the item retries, the write throws a
 * retriable error and the processor retries the batch (documents already stored are simply
 * overwritten). Items Elasticsearch refuses for their content (400: mapping) come back in
 * `failed` and become bad rows. A node that cannot be reached throws a retriable error.
 */
// Types only at the top: the client takes ~0.4 s to load, so it is required when a sink is created,
// not by every command that merely validates a config.
import type { Client, ClientOptions } from '@elastic/elasticsearch';
import { z } from 'zod';
import type { SnowplowEvent } from '../snowplow/event';
import type { StageFailure } from '../stages/stage';
import { buildIndexTemplate, compileIndexName, eventDocument, indexNameProblem } from '../storage/elasticsearch-template';
import { backoffDelay, RetriableError, sleep as realSleep, type RetryPolicy } from '../util/retry';
import type { Sink, SinkDeps } from './sink';
import { isTlsVerificationError, readPem } from '../util/tls';
import { InFlightWindow } from '../util/window';

/** Why an event was not stored (closed set: metric label and bad-row message prefix). */
export type ElasticsearchFailureReason =
  /** The event has no event_id, so it cannot be written idempotently. */
  | 'missing_event_id'
  /** A dated index needs derived_tstamp/collector_tstamp and the event has neither (valid). */
  | 'missing_index_time'
  /** 400: a value does not fit the mapping (document_parsing_exception, strict dynamic mapping…). */
  | 'mapping_conflict'
  /** 400 for another reason (illegal_argument_exception: field limit, …). */
  | 'invalid_document'
  /** Any other per-item status that is neither retried nor fatal (409, 500, …). */
  | 'item_rejected';

/** Per-item statuses that mean "busy, try again" rather than "this document is wrong". */
const RETRIABLE_ITEM_STATUS = new Set([429, 502, 503, 504]);
/** Per-item statuses that mean the sink is misconfigured (auth, missing index): crash, don't bad-row everything. */
const FATAL_ITEM_STATUS = new Set([401, 403, 404]);
const RETRIABLE_REQUEST_STATUS = new Set([408, 429, 502, 503, 504]);
const MAPPING_ERROR_TYPES = new Set(['document_parsing_exception', 'mapper_parsing_exception', 'strict_dynamic_mapping_exception']);

const indexNameSchema = z.string().superRefine((value, ctx) => {
  const problem = indexNameProblem(value);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

const authSchema = z
  .union([
    z.object({ apiKey: z.string().min(1).describe('Elasticsearch API key (the base64 `encoded` form), e.g. "${ES_API_KEY}".') }).strict(),
    z
      .object({
        username: z.string().min(1).describe('User for basic authentication.'),
        password: z.string().min(1).describe('Password for basic authentication, e.g. "${ES_PASSWORD}" or "${file:/run/secrets/es}".'),
      })
      .strict(),
  ])
  .describe('Either `{apiKey}` or `{username, password}`; default: no authentication.');

export const elasticsearchSinkSchema = z
  .object({
    type: z.literal('elasticsearch'),
    nodes: z.array(z.string().url()).min(1).default(['http://127.0.0.1:9200']).describe('Elasticsearch URLs (http or https).'),
    index: indexNameSchema
      .default('tracking_persisted')
      .describe('Index name, or a UTC date pattern such as `tracking_persisted-{yyyy.MM.dd}` (tokens yyyy, MM, dd, HH).'),
    indexTimeField: z
      .enum(['derived_tstamp', 'collector_tstamp'])
      .default('derived_tstamp')
      .describe('Time that picks the dated index; derived_tstamp falls back to collector_tstamp when absent.'),
    auth: authSchema.optional(),
    tls: z
      .object({
        caFile: z.string().min(1).optional().describe('PEM file with the CA that signed the nodes\' certificates (default: the system CAs).'),
        certFile: z.string().min(1).optional().describe('Client certificate (PEM) for nodes or proxies that verify clients; needs keyFile.'),
        keyFile: z.string().min(1).optional().describe('Client private key (PEM, unencrypted); needs certFile.'),
      })
      .strict()
      .refine((tls) => !tls.certFile === !tls.keyFile, { message: 'certFile and keyFile go together (mutual TLS needs both)' })
      .optional()
      .describe('TLS settings for https nodes.'),
    refresh: z
      .boolean()
      .default(false)
      .describe('Acknowledge only after the documents are searchable (bulk refresh=wait_for); slower, for demos and tests.'),
    template: z
      .object({
        install: z.boolean().default(true).describe('Install (overwrite) the index template at startup; off when templates are managed elsewhere.'),
        name: z.string().min(1).optional().describe('Template name; default: `tailplow-` + the index name without its date pattern.'),
        priority: z.number().int().min(0).default(200).describe('Template priority (higher wins over overlapping templates).'),
        shards: z.number().int().min(1).optional().describe('number_of_shards for new indices; default: the cluster default.'),
        replicas: z.number().int().min(0).optional().describe('number_of_replicas for new indices; default: the cluster default.'),
        unknownFields: z
          .enum(['keep', 'reject'])
          .default('keep')
          .describe('A document field outside the canonical model: keep (in _source, not indexed) or reject (bad row).'),
      })
      .strict()
      .default({})
      .describe('The index template with explicit mappings.'),
    maxBulkBytes: z.number().int().min(1024).default(5 * 1024 * 1024).describe('Split a batch into bulk requests of at most this many bytes.'),
    concurrency: z.number().int().min(1).max(16).default(2).describe('Bulk requests in flight at once, across every batch the processor has pending.'),
    itemRetry: z
      .object({
        maxAttempts: z.number().int().min(1).default(5).describe('Bulk attempts for items rejected with 429/502/503/504 within one write.'),
        initialMs: z.number().int().min(0).default(200).describe('First backoff delay.'),
        maxMs: z.number().int().min(0).default(5000).describe('Largest backoff delay.'),
      })
      .strict()
      .default({})
      .describe('Retries of busy-rejected items inside one write, before the batch is handed back for a retry.'),
    requestTimeoutMs: z.number().int().min(1).default(30_000).describe('Timeout of one request.'),
  })
  .strict()
  .describe('Index events into Elasticsearch (`_id` = event_id).');
export type ElasticsearchSinkConfig = z.infer<typeof elasticsearchSinkSchema>;

/** One bulk item outcome, in request order. */
export interface BulkItemOutcome {
  status: number;
  error?: { type: string; reason?: string };
}

/** The part of Elasticsearch this sink uses, so tests can inject faults without a server. */
export interface ElasticsearchApi {
  /** Sends NDJSON lines (action, document, action, document…); resolves to one outcome per action. */
  bulk(lines: string[], opts: { refresh: boolean }): Promise<BulkItemOutcome[]>;
  putIndexTemplate(name: string, body: ReturnType<typeof buildIndexTemplate>): Promise<void>;
  close(): Promise<void>;
}

/** Elasticsearch is unreachable or busy: the batch should be retried later. */
export class ElasticsearchUnavailableError extends RetriableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ElasticsearchUnavailableError';
  }
}

/** True for errors of the Elasticsearch client that mean "down or busy" rather than "wrong request". */
export function isUnavailableError(err: unknown): boolean {
  // An untrusted or refused certificate is a configuration problem: retrying cannot fix it.
  if (isTlsVerificationError(err)) return false;
  if (err instanceof RetriableError) return true;
  // By name, so this works without loading the client (its error classes keep these names).
  const e = err as { name?: string; statusCode?: number } | null;
  if (e?.name === 'ConnectionError' || e?.name === 'TimeoutError' || e?.name === 'NoLivingConnectionsError') return true;
  if (e?.name === 'ResponseError') return RETRIABLE_REQUEST_STATUS.has(e.statusCode ?? 0);
  return false;
}

export function clientOptionsOf(config: ElasticsearchSinkConfig): ClientOptions {
  const options: ClientOptions = {
    nodes: config.nodes,
    requestTimeout: config.requestTimeoutMs,
    // One retry policy (STYLE 3): the processor's, not the client's own on top of it.
    maxRetries: 0,
    compression: false,
  };
  if (config.auth) options.auth = 'apiKey' in config.auth ? { apiKey: config.auth.apiKey } : { username: config.auth.username, password: config.auth.password };
  if (config.tls) {
    const tls = config.tls;
    options.tls = {
      ...(tls.caFile ? { ca: readPem('elasticsearch.tls.caFile', tls.caFile) } : {}),
      ...(tls.certFile ? { cert: readPem('elasticsearch.tls.certFile', tls.certFile) } : {}),
      ...(tls.keyFile ? { key: readPem('elasticsearch.tls.keyFile', tls.keyFile) } : {}),
    };
  }
  return options;
}

/** ElasticsearchApi over @elastic/elasticsearch 9. */
export function elasticsearchApiOf(client: Client): ElasticsearchApi {
  return {
    async bulk(lines, opts) {
      const response = await client.bulk({
        operations: lines,
        refresh: opts.refresh ? 'wait_for' : false,
        filter_path: ['items.*.status', 'items.*.error.type', 'items.*.error.reason'],
      });
      return (response.items ?? []).map((item) => {
        const result = Object.values(item)[0];
        const error = result?.error;
        return { status: result?.status ?? 0, ...(error ? { error: { type: error.type, ...(error.reason ? { reason: error.reason } : {}) } } : {}) };
      });
    },
    async putIndexTemplate(name, body) {
      await client.indices.putIndexTemplate({ name, ...body });
    },
    close: () => client.close(),
  };
}

interface PendingItem {
  /** Position in the input batch, to report failures in input order. */
  position: number;
  event: SnowplowEvent;
  action: string;
  source: string;
  bytes: number;
}

function failure(event: SnowplowEvent, reason: ElasticsearchFailureReason, message: string): StageFailure {
  return { event, reason, message: `${reason}: ${message}` };
}

function itemFailureReason(item: BulkItemOutcome): ElasticsearchFailureReason {
  if (item.status === 400) return MAPPING_ERROR_TYPES.has(item.error?.type ?? '') ? 'mapping_conflict' : 'invalid_document';
  return 'item_rejected';
}

function timeOf(event: SnowplowEvent, field: ElasticsearchSinkConfig['indexTimeField']): number | undefined {
  const candidates = field === 'derived_tstamp' ? [event.derived_tstamp, event.collector_tstamp] : [event.collector_tstamp];
  for (const value of candidates) {
    const ms = typeof value === 'string' ? Date.parse(value) : NaN;
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}

/** Groups items into consecutive chunks of at most maxBytes (a single larger item is its own chunk). */
function chunksOf(items: PendingItem[], maxBytes: number): PendingItem[][] {
  const chunks: PendingItem[][] = [];
  let current: PendingItem[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length && bytes + item.bytes > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.bytes;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

export interface ElasticsearchSinkDeps extends SinkDeps {
  /** Injected Elasticsearch access (tests); default: a client built from the config. */
  api?: ElasticsearchApi;
  /** Backoff sleep (tests pass one that doesn't wait). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export async function createElasticsearchSink(config: ElasticsearchSinkConfig, deps: ElasticsearchSinkDeps): Promise<Sink> {
  const indexName = compileIndexName(config.index);
  const api = deps.api ?? elasticsearchApiOf(new (await import('@elastic/elasticsearch')).Client(clientOptionsOf(config)));
  const sleep = deps.sleep ?? ((ms: number) => realSleep(ms));
  const policy: RetryPolicy = { initialMs: config.itemRetry.initialMs, maxMs: config.itemRetry.maxMs, maxAttempts: config.itemRetry.maxAttempts };

  if (config.template.install) {
    const name = config.template.name ?? `tailplow-${indexName.templatePattern.replace(/[-_.*]+$/, '').replace(/\*/g, '')}`;
    const body = buildIndexTemplate({
      indexPatterns: [indexName.templatePattern],
      priority: config.template.priority,
      shards: config.template.shards,
      replicas: config.template.replicas,
      unknownFields: config.template.unknownFields,
    });
    try {
      await api.putIndexTemplate(name, body);
    } catch (e) {
      await api.close().catch(() => undefined);
      const message = `elasticsearch sink: cannot install index template ${name} on ${config.nodes.join(', ')}: ${(e as Error).message}`;
      throw isUnavailableError(e) ? new ElasticsearchUnavailableError(message, { cause: e }) : new Error(message, { cause: e });
    }
    deps.logger.info({ template: name, index_patterns: body.index_patterns }, 'elasticsearch index template installed');
  }

  /** Sends one chunk, re-sending busy-rejected items with backoff; returns the content failures. */
  async function sendChunk(chunk: PendingItem[]): Promise<Array<{ position: number; failure: StageFailure }>> {
    const failed: Array<{ position: number; failure: StageFailure }> = [];
    let pending = chunk;
    for (let attempt = 0; ; attempt++) {
      const lines: string[] = [];
      for (const item of pending) lines.push(item.action, item.source);
      let outcomes: BulkItemOutcome[];
      try {
        outcomes = await api.bulk(lines, { refresh: config.refresh });
      } catch (e) {
        if (isUnavailableError(e)) throw new ElasticsearchUnavailableError(`elasticsearch bulk request failed: ${(e as Error).message}`, { cause: e });
        throw e;
      }
      if (outcomes.length !== pending.length) throw new Error(`elasticsearch bulk answered ${outcomes.length} items for ${pending.length} documents`);

      const busy: PendingItem[] = [];
      let busyExample: BulkItemOutcome | undefined;
      pending.forEach((item, k) => {
        const outcome = outcomes[k] as BulkItemOutcome;
        if (outcome.status >= 200 && outcome.status < 300) return;
        if (RETRIABLE_ITEM_STATUS.has(outcome.status)) {
          busy.push(item);
          busyExample ??= outcome;
        } else if (FATAL_ITEM_STATUS.has(outcome.status)) {
          throw new Error(`elasticsearch refused to index (status ${outcome.status} ${outcome.error?.type ?? ''}: ${outcome.error?.reason ?? 'no reason'}); check the sink's auth and index settings`);
        } else {
          const reason = itemFailureReason(outcome);
          failed.push({ position: item.position, failure: failure(item.event, reason, `status ${outcome.status} ${outcome.error?.type ?? ''}: ${outcome.error?.reason ?? 'no reason'}`) });
        }
      });
      if (!busy.length) return failed;
      const detail = `${busy.length} of ${pending.length} documents rejected with status ${busyExample?.status} (${busyExample?.error?.type ?? 'no type'})`;
      if (attempt + 1 >= policy.maxAttempts) throw new ElasticsearchUnavailableError(`elasticsearch is busy: ${detail} after ${attempt + 1} attempts`);
      const delayMs = backoffDelay(attempt, policy, deps.random);
      deps.logger.warn({ attempt: attempt + 1, delay_ms: delayMs }, `elasticsearch: ${detail}; retrying those`);
      await sleep(delayMs);
      pending = busy;
    }
  }

  // The sink's bulk requests in flight, across batches: the processor's pending batches overlap
  // their writes, and each would otherwise bring `concurrency` requests of its own.
  const slots = new InFlightWindow(config.concurrency);
  async function inSlot<T>(fn: () => Promise<T>): Promise<T> {
    await slots.acquire(1);
    try {
      return await fn();
    } finally {
      slots.release(1);
    }
  }

  return {
    name: 'elasticsearch',
    async write(events) {
      const failed: Array<{ position: number; failure: StageFailure }> = [];
      const pending: PendingItem[] = [];
      events.forEach((event, position) => {
        const id = event.event_id;
        if (typeof id !== 'string' || id === '') {
          failed.push({ position, failure: failure(event, 'missing_event_id', 'event has no event_id, so it cannot be stored idempotently') });
          return;
        }
        let index = indexName.at(0);
        if (indexName.dated) {
          const ms = timeOf(event, config.indexTimeField);
          if (ms === undefined) {
            failed.push({ position, failure: failure(event, 'missing_index_time', `no valid ${config.indexTimeField} or collector_tstamp to pick the index of ${config.index}`) });
            return;
          }
          index = indexName.at(ms);
        }
        const action = JSON.stringify({ index: { _index: index, _id: id } });
        const source = JSON.stringify(eventDocument(event));
        pending.push({ position, event, action, source, bytes: Buffer.byteLength(action) + Buffer.byteLength(source) + 2 });
      });

      // At most `concurrency` bulk requests in flight (with other batches' too); after a failure no
      // new request starts, and write settles only when the ones in flight have.
      const chunks = chunksOf(pending, config.maxBulkBytes);
      let next = 0;
      let firstError: unknown;
      const worker = async () => {
        while (next < chunks.length && firstError === undefined) {
          const chunk = chunks[next++] as PendingItem[];
          try {
            failed.push(...(await inSlot(() => sendChunk(chunk))));
          } catch (e) {
            firstError ??= e;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(config.concurrency, chunks.length) }, worker));
      if (firstError !== undefined) throw firstError;
      failed.sort((a, b) => a.position - b.position);
      return { failed: failed.map((f) => f.failure) };
    },
    isRetriable: isUnavailableError,
    close: () => api.close(),
  };
}
