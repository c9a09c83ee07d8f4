import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: '127.0.0.1',
      hubId: 'ncp-hub',
      redisUrl: undefined,
      redisSentinels: [],
      redisSentinelName: 'ncp',
      redisSentinelPassword: undefined,
      redisSentinelTls: false,
      durability: 'local',
      durabilityReplicas: 1,
      durabilityTimeoutMs: 2000,
      trustRegistry: undefined,
      dataDir: resolve('.data'),
      logLevel: 'info',
      allowedOrigins: [],
      trustedProxies: undefined,
      nodeEnv: 'development',
      redisServerBin: undefined,
      clockToleranceSeconds: 30,
      redisPrefix: 'ncp:',
      maxEnvelopeBytes: 65_536,
      retentionSeconds: 30 * 86_400,
      retentionMaxItems: 100_000,
      rateLimitPerSecond: 50,
      rateLimitBurst: 200,
      rateLimitReadsPerSecond: 500,
      rateLimitReadsBurst: 2000,
      maxConcurrentRequestsPerSocket: 32,
      maxRequestsInFlight: 2048,
      maxPendingRedisCommands: 10_000,
      maxEventLoopLagMs: 1000,
      maxBufferedBytesPerSocket: 64 * 1024 * 1024,
      maxBufferedFramesPerSocket: 10_000,
      adapterStreamMaxLen: 1000,
      handshakesPerMinute: 60,
      policyFile: undefined,
      workers: 'embedded',
      followUpLockMs: 30_000,
      followUpFault: undefined,
      hubKeyFile: undefined,
      auditCheckpointEvery: 100,
      auditCheckpointSeconds: 10,
      auditRefusalWindowSeconds: 60,
      // The checkout's built console, wherever the hub is started from.
      consoleDir: fileURLToPath(new URL('../../console/dist', import.meta.url)),
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      HUB_ID: 'hub.eu-1',
      REDIS_URL: 'rediss://:secret@redis.internal:6380/2',
      TRUST_REGISTRY: '/etc/ncp-hub/registry',
      DATA_DIR: '/var/lib/ncp-hub',
      LOG_LEVEL: 'warn',
      ALLOWED_ORIGINS: 'https://console.police.example, http://localhost:5173',
      NODE_ENV: 'production',
      REDIS_SERVER_BIN: '/opt/redis/bin/redis-server',
      CLOCK_TOLERANCE_SECONDS: '5',
      REDIS_PREFIX: 'hub-eu:',
      MAX_ENVELOPE_BYTES: '131072',
      RETENTION_DAYS: '7',
      RETENTION_MAX_ITEMS: '5000',
      RATE_LIMIT_PER_SECOND: '10',
      RATE_LIMIT_BURST: '20',
      RATE_LIMIT_READS_PER_SECOND: '100',
      RATE_LIMIT_READS_BURST: '300',
      MAX_CONCURRENT_REQUESTS_PER_SOCKET: '8',
      MAX_REQUESTS_IN_FLIGHT: '100',
      MAX_PENDING_REDIS_COMMANDS: '500',
      MAX_EVENT_LOOP_LAG_MS: '250',
      MAX_BUFFERED_BYTES_PER_SOCKET: '1048576',
      MAX_BUFFERED_FRAMES_PER_SOCKET: '64',
      ADAPTER_STREAM_MAX_LEN: '200',
      HANDSHAKES_PER_MINUTE: '12',
      POLICY_FILE: '/etc/ncp-hub/policy.json',
      WORKERS: 'off',
      FOLLOWUP_LOCK_MS: '5000',
      HUB_KEY_FILE: '/etc/ncp-hub/hub.private.jwk',
      AUDIT_CHECKPOINT_EVERY: '50',
      AUDIT_CHECKPOINT_SECONDS: '2.5',
      AUDIT_REFUSAL_WINDOW_SECONDS: '5',
      CONSOLE_DIR: '/srv/ncp-hub/console',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      hubId: 'hub.eu-1',
      redisUrl: 'rediss://:secret@redis.internal:6380/2',
      trustRegistry: '/etc/ncp-hub/registry',
      dataDir: '/var/lib/ncp-hub',
      logLevel: 'warn',
      allowedOrigins: ['https://console.police.example', 'http://localhost:5173'],
      nodeEnv: 'production',
      redisServerBin: '/opt/redis/bin/redis-server',
      clockToleranceSeconds: 5,
      redisPrefix: 'hub-eu:',
      maxEnvelopeBytes: 131_072,
      retentionSeconds: 7 * 86_400,
      retentionMaxItems: 5000,
      rateLimitPerSecond: 10,
      rateLimitBurst: 20,
      rateLimitReadsPerSecond: 100,
      rateLimitReadsBurst: 300,
      maxConcurrentRequestsPerSocket: 8,
      maxRequestsInFlight: 100,
      maxPendingRedisCommands: 500,
      maxEventLoopLagMs: 250,
      maxBufferedBytesPerSocket: 1_048_576,
      maxBufferedFramesPerSocket: 64,
      adapterStreamMaxLen: 200,
      handshakesPerMinute: 12,
      policyFile: '/etc/ncp-hub/policy.json',
      workers: 'off',
      followUpLockMs: 5000,
      followUpFault: undefined,
      hubKeyFile: '/etc/ncp-hub/hub.private.jwk',
      auditCheckpointEvery: 50,
      auditCheckpointSeconds: 2.5,
      auditRefusalWindowSeconds: 5,
      consoleDir: '/srv/ncp-hub/console',
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '  ' })).toMatchObject({ port: 8080, redisUrl: undefined });
  });

  it('reports every bad variable at once, by name, without echoing values', () => {
    const bad = {
      PORT: 'eighty',
      HUB_ID: 'has spaces',
      REDIS_URL: 'http://:hunter2@redis',
      LOG_LEVEL: 'loud',
      ALLOWED_ORIGINS: 'https://ok.example,not an origin',
      NODE_ENV: 'staging',
      CLOCK_TOLERANCE_SECONDS: '-1',
      REDIS_PREFIX: 'has spaces',
      MAX_ENVELOPE_BYTES: '10',
      RATE_LIMIT_BURST: '0',
      RATE_LIMIT_READS_PER_SECOND: '0',
      RATE_LIMIT_READS_BURST: '1.5',
      MAX_CONCURRENT_REQUESTS_PER_SOCKET: '0',
      HANDSHAKES_PER_MINUTE: 'many',
      WORKERS: 'many',
      REDIS_SENTINELS: 'sentinel-1:26379,no-port',
      DURABILITY: 'eventual',
      DURABILITY_TIMEOUT_MS: '5',
      TRUST_PROXY: '10.0.0.0/8,nginx',
    };
    let error: unknown;
    try {
      loadConfig(bad);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((problem) => problem.split(':')[0]).sort()).toEqual(Object.keys(bad).sort());
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('reads the Sentinels, durability and trusted proxies', () => {
    const config = loadConfig({
      REDIS_SENTINELS: 'sentinel-1:26379, 10.0.0.7:26380',
      REDIS_SENTINEL_NAME: 'hub-primary',
      DURABILITY: 'replicated',
      DURABILITY_REPLICAS: '2',
      TRUST_PROXY: '10.0.0.0/8',
    });
    expect(config.redisSentinels).toEqual([
      { host: 'sentinel-1', port: 26379 },
      { host: '10.0.0.7', port: 26380 },
    ]);
    expect(config).toMatchObject({ redisSentinelName: 'hub-primary', durability: 'replicated', durabilityReplicas: 2 });
    expect(config.trustedProxies?.check('10.1.2.3', 'ipv4')).toBe(true);
    expect(config.trustedProxies?.check('192.168.1.1', 'ipv4')).toBe(false);
  });

  it('refuses fault injection in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', FOLLOWUP_FAULT: 'crash-after-reminder' })).toThrow(
      /FOLLOWUP_FAULT/,
    );
    expect(loadConfig({ FOLLOWUP_FAULT: 'crash-after-reminder' }).followUpFault).toBe('crash-after-reminder');
  });

  it('refuses an origin with a path', () => {
    expect(() => loadConfig({ ALLOWED_ORIGINS: 'https://console.example/app' })).toThrow(/ALLOWED_ORIGINS/);
  });
});
