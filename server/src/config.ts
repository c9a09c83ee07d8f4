import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseTrustedProxies, type TrustedProxies } from './http/client-address.js';
import { StartupError } from './startup-error.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function origin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/** The items of a comma-separated setting, trimmed, empty ones dropped. */
function commaList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * Every environment variable the hub reads, with its default. The README's configuration
 * table is this schema in prose: change both together.
 */
const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  HUB_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 of A-Z, a-z, 0-9 and . _ : -')
    .default('ncp-hub'),
  REDIS_URL: z
    .string()
    .refine((value) => /^rediss?:$/.test(safeProtocol(value)), 'must be a redis:// or rediss:// URL')
    .optional(),
  REDIS_SENTINELS: z
    .string()
    .default('')
    .transform(commaList)
    .refine((list) => list.every(sentinelAddress), 'must be a comma-separated list of host:port')
    .transform((list) => list.map(parseSentinel)),
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 of A-Z, a-z, 0-9 and . _ -')
    .default('ncp'),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  REDIS_SENTINEL_TLS: z.enum(['true', 'false']).default('false'),
  DURABILITY: z.enum(['local', 'replicated']).default('local'),
  DURABILITY_REPLICAS: z.coerce.number().int().min(1).max(16).default(1),
  DURABILITY_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(2000),
  TRUST_REGISTRY: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform(commaList)
    .refine(
      (origins) => origins.every(origin),
      'must be a comma-separated list of origins like https://console.example',
    ),
  TRUST_PROXY: z
    .string()
    .default('')
    .superRefine((value, context) => {
      try {
        parseTrustedProxies(value);
      } catch (error) {
        context.addIssue({
          code: 'custom',
          message: `must be a comma-separated list of proxy addresses or networks: ${(error as Error).message}`,
        });
      }
    })
    .transform(parseTrustedProxies),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  REDIS_SERVER_BIN: z.string().min(1).optional(),
  CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'must be 1-64 of A-Z, a-z, 0-9 and : _ . -')
    .default('ncp:'),
  MAX_ENVELOPE_BYTES: z.coerce.number().int().min(1024).max(1_000_000).default(65_536),
  RETENTION_DAYS: z.coerce.number().min(0.00001).max(3650).default(30),
  RETENTION_MAX_ITEMS: z.coerce.number().int().min(10).max(10_000_000).default(100_000),
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0.1).max(1_000_000).default(50),
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(10_000_000).default(200),
  RATE_LIMIT_READS_PER_SECOND: z.coerce.number().min(0.1).max(1_000_000).default(500),
  RATE_LIMIT_READS_BURST: z.coerce.number().int().min(1).max(10_000_000).default(2000),
  MAX_CONCURRENT_REQUESTS_PER_SOCKET: z.coerce.number().int().min(1).max(10_000).default(32),
  MAX_REQUESTS_IN_FLIGHT: z.coerce.number().int().min(1).max(1_000_000).default(2048),
  MAX_PENDING_REDIS_COMMANDS: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  MAX_EVENT_LOOP_LAG_MS: z.coerce.number().int().min(1).max(60_000).default(1000),
  HANDSHAKES_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(60),
  MAX_BUFFERED_BYTES_PER_SOCKET: z.coerce.number().int().min(65_536).max(2_147_483_647).default(67_108_864),
  MAX_BUFFERED_FRAMES_PER_SOCKET: z.coerce.number().int().min(16).max(10_000_000).default(10_000),
  ADAPTER_STREAM_MAX_LEN: z.coerce.number().int().min(100).max(10_000_000).default(1000),
  POLICY_FILE: z.string().min(1).optional(),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  WORKERS: z.enum(['embedded', 'off']).default('embedded'),
  FOLLOWUP_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  FOLLOWUP_FAULT: z.enum(['crash-before-reminder', 'crash-after-reminder']).optional(),
  HUB_KEY_FILE: z.string().min(1).optional(),
  AUDIT_CHECKPOINT_EVERY: z.coerce.number().int().min(1).max(1_000_000).default(100),
  AUDIT_CHECKPOINT_SECONDS: z.coerce.number().min(0.1).max(86_400).default(10),
  AUDIT_REFUSAL_WINDOW_SECONDS: z.coerce.number().min(0.1).max(3600).default(60),
  CONSOLE_DIR: z.string().min(1).optional(),
});

/** The built web console of this checkout, `console/dist` beside `server/` (the same from `src/` and `dist/`). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../console/dist', import.meta.url));

/** `host:port`, the host a name, IPv4 or `[IPv6]`. */
function sentinelAddress(value: string): boolean {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  return match !== null && Number(match[2]) > 0 && Number(match[2]) <= 65535;
}

function parseSentinel(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  return { host: value.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(value.slice(at + 1)) };
}

function safeProtocol(value: string): string {
  try {
    return new URL(value).protocol;
  } catch {
    return '';
  }
}

/** The hub's validated configuration. */
export interface Config {
  /** TCP port to listen on; 0 picks a free one. */
  port: number;
  host: string;
  /** The hub's id: the `aud` every officer token must carry. */
  hubId: string;
  /** An external Redis; when absent the hub runs its own `redis-server`. Holds a secret: never log it. */
  redisUrl: string | undefined;
  /**
   * Sentinels to ask for the current primary (REDIS_SENTINELS); empty: REDIS_URL's own host.
   * With sentinels, REDIS_URL still gives the data nodes' password, user, TLS and db.
   */
  redisSentinels: Array<{ host: string; port: number }>;
  /** The master name the Sentinels monitor. */
  redisSentinelName: string;
  /** The Sentinels' own password (`requirepass` of sentinel.conf). Holds a secret: never log it. */
  redisSentinelPassword: string | undefined;
  /** Talk TLS to the Sentinels. */
  redisSentinelTls: boolean;
  /**
   * `local`: a write is acknowledged once the primary has it (AOF everysec, replication
   * asynchronous). `replicated`: once `WAIT` confirms `durabilityReplicas` replicas have it.
   */
  durability: 'local' | 'replicated';
  /** Replicas `WAIT` must confirm with `replicated`. */
  durabilityReplicas: number;
  /** How long `WAIT` may take before the request is refused `REPLICATION_TIMEOUT`. */
  durabilityTimeoutMs: number;
  /** Trust registry folder; when absent (not in production) a development registry is created. */
  trustRegistry: string | undefined;
  /** Absolute path of the data folder (embedded Redis, development registry). */
  dataDir: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Browser origins allowed to connect; requests without an Origin header are not affected. */
  allowedOrigins: string[];
  /**
   * The proxies (load balancers) whose `X-Forwarded-For` gives the client's address for the
   * per-address budgets and the logs; `undefined`: the peer's address is the client's.
   */
  trustedProxies: TrustedProxies;
  nodeEnv: 'development' | 'production' | 'test';
  /** Path of the `redis-server` binary for the embedded Redis; searched on PATH when absent. */
  redisServerBin: string | undefined;
  /** Clock skew tolerated on token times, in seconds. */
  clockToleranceSeconds: number;
  /** Prefix of every Redis key the hub writes. */
  redisPrefix: string;
  /** Largest envelope accepted, in bytes of JSON. */
  maxEnvelopeBytes: number;
  /** How long a conversation item is kept, in seconds. */
  retentionSeconds: number;
  /** Most items kept per conversation (older ones are trimmed). */
  retentionMaxItems: number;
  /**
   * The `write` budget of each officer, shared by every hub node: requests per second on
   * average (what stores or changes something: messages, receipts, conversation changes,
   * query openings and steps, device publications).
   */
  rateLimitPerSecond: number;
  /** ... and at once (see `budgetSize` in realtime/rate-limiter.ts). */
  rateLimitBurst: number;
  /** The `read` budget of each officer, shared by every hub node: every other event and every HTTP route, per second on average ... */
  rateLimitReadsPerSecond: number;
  /** ... and at once. */
  rateLimitReadsBurst: number;
  /** Requests of one socket (and of one officer over HTTP, per node) the hub works on at once; RATE_LIMITED beyond. */
  maxConcurrentRequestsPerSocket: number;
  /** Requests (client events and HTTP, probes aside) this node works on at once; `BUSY` beyond (load/load-shedder.ts). */
  maxRequestsInFlight: number;
  /** Commands on this node's Redis connection waiting for their reply past which new requests are refused `BUSY`. */
  maxPendingRedisCommands: number;
  /** Median event-loop delay (ms, over half a second) past which new requests are refused `BUSY`. */
  maxEventLoopLagMs: number;
  /**
   * Socket.IO handshakes per officer per minute, accepted or refused after the token, shared by
   * every hub node; also the refused handshakes and HTTP authentications per minute of one
   * claimed agency from one address.
   */
  handshakesPerMinute: number;
  /**
   * Bytes of frames the hub holds for one socket that is not reading them (its queue and the
   * WebSocket's buffers) before it closes the connection (realtime/outbound-bound.ts). Keep it
   * above the largest answer, `MAX_SYNC_LIMIT` items of `maxEnvelopeBytes`.
   */
  maxBufferedBytesPerSocket: number;
  /** ... and frames. */
  maxBufferedFramesPerSocket: number;
  /**
   * Entries the Socket.IO adapter's Redis stream keeps (trimmed approximately, `MAXLEN ~`): each
   * room broadcast is one, kept for the other nodes to read it.
   */
  adapterStreamMaxLen: number;
  /** The follow-up policy file; defaults apply when absent. */
  policyFile: string | undefined;
  /**
   * `npm run worker` only: the port (on HOST) of its own `/metrics`, with the outcomes of the jobs
   * and webhooks it runs (the hub nodes count only their embedded workers'); unset: none.
   */
  workerMetricsPort: number | undefined;
  /** Whether this hub node runs follow-up workers (`off` when `npm run worker` processes do). */
  workers: 'embedded' | 'off';
  /** How long a follow-up job stays locked to its worker before another may take it over. */
  followUpLockMs: number;
  /**
   * Fault injection for the fault tests only: the process dies before, or right after, recording
   * its first reminder, without finishing the job. Refused in production.
   */
  followUpFault: 'crash-before-reminder' | 'crash-after-reminder' | undefined;
  /** The hub's private signing JWK (Ed25519) from a file; made under DATA_DIR/hub-keys when absent. */
  hubKeyFile: string | undefined;
  /** Sign an audit checkpoint after this many new entries... */
  auditCheckpointEvery: number;
  /** ... or after this many seconds with new entries. */
  auditCheckpointSeconds: number;
  /** Refused authentications are recorded as counts per window of this many seconds. */
  auditRefusalWindowSeconds: number;
  /** Absolute path of the built web console served at `/` (docs/PROTOCOL.md section 8). */
  consoleDir: string;
}

/** One or more environment variables are invalid. The message names each, never its value. */
export class ConfigError extends StartupError {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.problems = problems;
    this.name = 'ConfigError';
  }
}

/**
 * Reads the configuration from environment variables (empty ones count as unset) and
 * validates every one, reporting all problems at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    Object.keys(environmentSchema.shape)
      .map((name) => [name, env[name]?.trim()])
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  if (e.FOLLOWUP_FAULT && e.NODE_ENV === 'production') {
    throw new ConfigError(['FOLLOWUP_FAULT: fault injection is for tests, never with NODE_ENV=production']);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    hubId: e.HUB_ID,
    redisUrl: e.REDIS_URL,
    redisSentinels: e.REDIS_SENTINELS,
    redisSentinelName: e.REDIS_SENTINEL_NAME,
    redisSentinelPassword: e.REDIS_SENTINEL_PASSWORD,
    redisSentinelTls: e.REDIS_SENTINEL_TLS === 'true',
    durability: e.DURABILITY,
    durabilityReplicas: e.DURABILITY_REPLICAS,
    durabilityTimeoutMs: e.DURABILITY_TIMEOUT_MS,
    trustRegistry: e.TRUST_REGISTRY === undefined ? undefined : resolve(e.TRUST_REGISTRY),
    dataDir: resolve(e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    allowedOrigins: e.ALLOWED_ORIGINS,
    trustedProxies: e.TRUST_PROXY,
    nodeEnv: e.NODE_ENV,
    redisServerBin: e.REDIS_SERVER_BIN,
    clockToleranceSeconds: e.CLOCK_TOLERANCE_SECONDS,
    redisPrefix: e.REDIS_PREFIX,
    maxEnvelopeBytes: e.MAX_ENVELOPE_BYTES,
    retentionSeconds: Math.round(e.RETENTION_DAYS * 86_400),
    retentionMaxItems: e.RETENTION_MAX_ITEMS,
    rateLimitPerSecond: e.RATE_LIMIT_PER_SECOND,
    rateLimitBurst: e.RATE_LIMIT_BURST,
    rateLimitReadsPerSecond: e.RATE_LIMIT_READS_PER_SECOND,
    rateLimitReadsBurst: e.RATE_LIMIT_READS_BURST,
    maxConcurrentRequestsPerSocket: e.MAX_CONCURRENT_REQUESTS_PER_SOCKET,
    maxRequestsInFlight: e.MAX_REQUESTS_IN_FLIGHT,
    maxPendingRedisCommands: e.MAX_PENDING_REDIS_COMMANDS,
    maxEventLoopLagMs: e.MAX_EVENT_LOOP_LAG_MS,
    handshakesPerMinute: e.HANDSHAKES_PER_MINUTE,
    maxBufferedBytesPerSocket: e.MAX_BUFFERED_BYTES_PER_SOCKET,
    maxBufferedFramesPerSocket: e.MAX_BUFFERED_FRAMES_PER_SOCKET,
    adapterStreamMaxLen: e.ADAPTER_STREAM_MAX_LEN,
    policyFile: e.POLICY_FILE === undefined ? undefined : resolve(e.POLICY_FILE),
    workerMetricsPort: e.WORKER_METRICS_PORT,
    workers: e.WORKERS,
    followUpLockMs: e.FOLLOWUP_LOCK_MS,
    followUpFault: e.FOLLOWUP_FAULT,
    hubKeyFile: e.HUB_KEY_FILE === undefined ? undefined : resolve(e.HUB_KEY_FILE),
    auditCheckpointEvery: e.AUDIT_CHECKPOINT_EVERY,
    auditCheckpointSeconds: e.AUDIT_CHECKPOINT_SECONDS,
    auditRefusalWindowSeconds: e.AUDIT_REFUSAL_WINDOW_SECONDS,
    consoleDir: e.CONSOLE_DIR === undefined ? DEFAULT_CONSOLE_DIR : resolve(e.CONSOLE_DIR),
  };
}
