import path from 'node:path';
import { z } from 'zod';

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A comma-separated list of durations such as `0,5s,5m,2h` (a bare number is seconds). */
const durationList = z.string().transform((value, context) => {
  const delays = value.split(',').map((part) => {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(part);
    return match ? Math.round(Number(match[1]) * durationUnits[match[2] ?? 's']!) : NaN;
  });
  if (delays.length === 0 || delays.some((delay) => !Number.isFinite(delay))) {
    context.addIssue({ code: 'custom', message: 'must be a comma-separated list of durations such as 0,5s,5m,2h' });
    return z.NEVER;
  }
  return delays;
});

/** A rate such as `20/10s`, or `off`. */
export interface RateLimit {
  readonly count: number;
  readonly windowMs: number;
}

/** Reads `N/duration` (e.g. `20/10s`, `600/1m`) or `off`; undefined when the text is not a rate. */
export function parseRateLimit(text: string): RateLimit | 'off' | undefined {
  if (text.trim() === 'off') return 'off';
  const match = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match || Number(match[1]) < 1) return undefined;
  const windowMs = Math.round(Number(match[2] ?? 1) * durationUnits[match[3]!]!);
  return windowMs > 0 ? { count: Number(match[1]), windowMs } : undefined;
}

const rateLimit = z.string().transform((value, context) => {
  const parsed = parseRateLimit(value);
  if (parsed === undefined) {
    context.addIssue({ code: 'custom', message: 'must be a rate such as 20/10s, or off' });
    return z.NEVER;
  }
  return parsed;
});

const operationList = z.string().transform((value, context) => {
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  const known = ['generate', 'extend', 'upgrade_1080p', 'upgrade_4k'];
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    context.addIssue({ code: 'custom', message: `unknown operation(s) ${unknown.join(', ')}; known: ${known.join(', ')}` });
    return z.NEVER;
  }
  return names;
});

/** A comma-separated list of names, at least one (checked against what they name where that is known). */
const nameList = z.string().transform((value, context) => {
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) {
    context.addIssue({ code: 'custom', message: 'must name at least one, comma-separated' });
    return z.NEVER;
  }
  return names;
});

const port = z.coerce.number({ message: 'must be a number' }).int().min(0).max(65535);
const positiveInt = z.coerce.number({ message: 'must be a number' }).int().positive();
const nonNegativeInt = z.coerce.number({ message: 'must be a number' }).int().min(0);

/** The longest an S3 presigned URL may last (SigV4). */
const MAX_PRESIGNED_SECONDS = 7 * 24 * 3600;

/** Every environment variable Segue reads, with its default. `.env.example` mirrors this list. */
const environmentSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(8080),
  SEGUE_TLS_CERT: z.string().min(1).optional(),
  SEGUE_TLS_KEY: z.string().min(1).optional(),
  SEGUE_DATA_DIR: z.string().min(1).default('./data'),
  SEGUE_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional(),
  SEGUE_DATABASE_POOL_SIZE: positiveInt.default(10),
  SEGUE_SQLITE_BUSY_TIMEOUT_MS: positiveInt.default(10_000),
  SEGUE_PUBLIC_URL: z.url({ message: 'must be an absolute http(s) URL' }).optional(),
  SEGUE_BOOTSTRAP_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  SEGUE_BOOTSTRAP_CREDITS: nonNegativeInt.default(10000),
  SEGUE_ALLOW_PRIVATE_NETWORKS: booleanFlag.default(false),
  SEGUE_FFMPEG: z.string().min(1).optional(),
  SEGUE_FFPROBE: z.string().min(1).optional(),
  SEGUE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SEGUE_RUN_WORKER: booleanFlag.default(true),
  SEGUE_WORKER_KINDS: nameList.optional(),
  SEGUE_WORKER_CONCURRENCY: positiveInt.default(16),
  SEGUE_WORKER_POLL_CONCURRENCY: positiveInt.default(256),
  SEGUE_LOCAL_RENDER_CONCURRENCY: positiveInt.default(1),
  SEGUE_WORKER_POLL_MS: positiveInt.default(500),
  SEGUE_JOB_LEASE_SECONDS: positiveInt.default(30),
  SEGUE_SHUTDOWN_GRACE_SECONDS: nonNegativeInt.default(20),
  SEGUE_URL_SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SEGUE_URL_TTL_SECONDS: positiveInt.default(14 * 24 * 3600),
  SEGUE_TIME_FORMAT: z.enum(['datetime', 'epoch_ms']).default('datetime'),
  SEGUE_EXTEND_RESULT_URLS: z.enum(['segment', 'full']).default('segment'),
  SEGUE_CALLBACK_URLS_AS_STRING: booleanFlag.default(false),
  SEGUE_4K_CALLBACK_SHAPE: z.enum(['page', 'openapi']).default('page'),
  SEGUE_CALLBACK_TIMEOUT_SECONDS: positiveInt.default(15),
  SEGUE_CALLBACK_CONCURRENCY_PER_DESTINATION: positiveInt.default(8),
  SEGUE_CALLBACK_RETRY_SCHEDULE: durationList.default([0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
  SEGUE_MEDIA_MAX_BYTES: positiveInt.default(200 * 1024 * 1024),
  SEGUE_MEDIA_TIMEOUT_SECONDS: positiveInt.default(60),
  SEGUE_FFMPEG_TIMEOUT_SECONDS: positiveInt.default(600),
  SEGUE_MIN_FREE_DISK_MB: nonNegativeInt.default(1024),
  SEGUE_ADMIN_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  SEGUE_PRICES: z.string().min(1).optional(),
  SEGUE_RATE_LIMIT: rateLimit.default({ count: 20, windowMs: 10_000 }),
  SEGUE_READ_RATE_LIMIT: rateLimit.default({ count: 600, windowMs: 10_000 }),
  SEGUE_MAX_UNFINISHED_TASKS: positiveInt.default(100),
  SEGUE_MAINTENANCE: booleanFlag.default(false),
  SEGUE_DISABLED_FEATURES: operationList.default([]),
  SEGUE_PROMPT_BLOCKLIST: z.string().min(1).optional(),
  SEGUE_ENGLISH_ONLY: booleanFlag.default(false),
  SEGUE_TASK_TIMEOUT_SECONDS: positiveInt.default(30 * 60),
  SEGUE_PROVIDERS: z.string().min(1).optional(),
  SEGUE_BLOB_STORE: z.enum(['fs', 's3']).default('fs'),
  SEGUE_BLOB_LINKS: z.enum(['signed', 'presigned']).default('signed'),
  SEGUE_S3_BUCKET: z.string().min(1).optional(),
  SEGUE_S3_ENDPOINT: z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' }).optional(),
  SEGUE_S3_REGION: z.string().min(1).default('us-east-1'),
  SEGUE_S3_FORCE_PATH_STYLE: booleanFlag.default(false),
}).superRefine((env, context) => {
  const problem = (variable: string, message: string) => context.addIssue({ code: 'custom', path: [variable], message });
  if (env.SEGUE_BLOB_STORE === 's3' && !env.SEGUE_S3_BUCKET) problem('SEGUE_S3_BUCKET', 'is required with SEGUE_BLOB_STORE=s3');
  if (env.SEGUE_BLOB_LINKS === 'presigned' && env.SEGUE_BLOB_STORE !== 's3') {
    problem('SEGUE_BLOB_LINKS', 'presigned needs SEGUE_BLOB_STORE=s3 (the file-system store has no presigned URLs; use signed)');
  }
  if (env.SEGUE_BLOB_LINKS === 'presigned' && env.SEGUE_BLOB_STORE === 's3' && env.SEGUE_URL_TTL_SECONDS > MAX_PRESIGNED_SECONDS) {
    problem('SEGUE_URL_TTL_SECONDS', `must be at most ${MAX_PRESIGNED_SECONDS} (7 days) with SEGUE_BLOB_LINKS=presigned: S3 presigned URLs last at most 7 days`);
  }
});

/** The names of every variable Segue reads. */
export const configVariableNames: readonly string[] = Object.keys(environmentSchema.shape);

/** The frozen, typed configuration every part of Segue receives. */
export interface Config {
  readonly host: string;
  readonly port: number;
  /** PEM files to serve HTTPS with (SEGUE_TLS_CERT, SEGUE_TLS_KEY); plain HTTP without them. */
  readonly tls: TlsFiles | undefined;
  readonly dataDir: string;
  /** A PostgreSQL URL; unset: SQLite in the data directory. */
  readonly databaseUrl: string | undefined;
  /** Connections each process keeps to PostgreSQL. */
  readonly databasePoolSize: number;
  /** How long a SQLite write waits for another process's write lock before the request is refused retryably. */
  readonly sqliteBusyTimeoutMs: number;
  readonly publicUrl: string;
  /** Whether SEGUE_PUBLIC_URL was set (not derived from HOST and PORT): processes started apart require it. */
  readonly publicUrlSet: boolean;
  readonly bootstrapKey: string | undefined;
  readonly bootstrapCredits: number;
  readonly allowPrivateNetworks: boolean;
  readonly ffmpegPath: string | undefined;
  readonly ffprobePath: string | undefined;
  readonly logLevel: string;
  readonly runWorker: boolean;
  /** The job kinds a worker of this process runs (checked against the job kinds at start-up); all when unset. */
  readonly workerKinds: readonly string[] | undefined;
  readonly workerConcurrency: number;
  /** Upstream polls running at once per worker process, in places of their own. */
  readonly workerPollConcurrency: number;
  readonly localRenderConcurrency: number;
  readonly workerPollMs: number;
  readonly jobLeaseMs: number;
  readonly shutdownGraceMs: number;
  readonly urlSigningSecret: string | undefined;
  readonly urlTtlSeconds: number;
  readonly timeFormat: 'datetime' | 'epoch_ms';
  readonly extendResultUrls: 'segment' | 'full';
  readonly callbackUrlsAsString: boolean;
  /** The 4K callback's body: the callbacks page's `{taskId, info}` or the OpenAPI block's snake case. */
  readonly fourKCallbackShape: 'page' | 'openapi';
  readonly callbackTimeoutMs: number;
  /** Callback deliveries in flight at once to one destination (scheme, host, port), per worker process. */
  readonly callbackConcurrencyPerDestination: number;
  /** Delay before each callback attempt, the first one included (Svix's schedule by default). */
  readonly callbackRetryScheduleMs: readonly number[];
  readonly mediaMaxBytes: number;
  readonly mediaTimeoutMs: number;
  readonly ffmpegTimeoutMs: number;
  /** Below this much free space in the data directory, new tasks are refused (retryably) and renders wait. */
  readonly minFreeDiskBytes: number;
  /** Bearer key of the admin API; the admin API is off without it. */
  readonly adminKey: string | undefined;
  /** Path of a JSON price table; the shipped defaults without it. */
  readonly pricesFile: string | undefined;
  readonly rateLimit: RateLimit | 'off';
  readonly readRateLimit: RateLimit | 'off';
  readonly maxUnfinishedTasks: number;
  readonly maintenance: boolean;
  readonly disabledFeatures: readonly string[];
  /** Path of a text file of refused words or phrases, one per line. */
  readonly promptBlocklistFile: string | undefined;
  readonly englishOnly: boolean;
  /** After this long without a final answer, a task goes to reconciliation. */
  readonly taskTimeoutMs: number;
  /** Path of the JSON file that declares upstream providers and routes models to them. */
  readonly providersFile: string | undefined;
  /** With SEGUE_BLOB_STORE=s3, the bucket that holds the media; otherwise media lives under the data directory. */
  readonly s3: S3Settings | undefined;
  /** Result links: Segue's own signed links (`signed`), or the bucket's presigned GET URLs (`presigned`). */
  readonly blobLinks: 'signed' | 'presigned';
}

/** The bucket of `SEGUE_BLOB_STORE=s3` and how to reach it; credentials come from the AWS SDK's default chain. */
export interface S3Settings {
  readonly bucket: string;
  /** Any S3-compatible service; AWS itself when unset. */
  readonly endpoint: string | undefined;
  readonly region: string;
  /** `endpoint/bucket/key` instead of `bucket.endpoint/key` (most self-hosted servers want it). */
  readonly forcePathStyle: boolean;
}

/** Where the certificate (chain) and its private key are, both PEM. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Thrown when the environment holds a bad value; the message names every offending variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads the configuration once from an environment (process.env by default). */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    Object.entries(environment).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const env = parsed.data;
  if ((env.SEGUE_TLS_CERT === undefined) !== (env.SEGUE_TLS_KEY === undefined)) {
    const [given, missing] = env.SEGUE_TLS_CERT ? ['SEGUE_TLS_CERT', 'SEGUE_TLS_KEY'] : ['SEGUE_TLS_KEY', 'SEGUE_TLS_CERT'];
    throw new ConfigError(`Invalid configuration:\n  ${given} is set but ${missing} is not: give both (PEM files) to serve HTTPS, or neither`);
  }
  const tls = env.SEGUE_TLS_CERT && env.SEGUE_TLS_KEY ? { certFile: path.resolve(env.SEGUE_TLS_CERT), keyFile: path.resolve(env.SEGUE_TLS_KEY) } : undefined;
  const publicHost = env.HOST === '0.0.0.0' || env.HOST === '::' ? '127.0.0.1' : env.HOST;
  return Object.freeze({
    host: env.HOST,
    port: env.PORT,
    tls: tls && Object.freeze(tls),
    dataDir: path.resolve(env.SEGUE_DATA_DIR),
    databaseUrl: env.SEGUE_DATABASE_URL,
    databasePoolSize: env.SEGUE_DATABASE_POOL_SIZE,
    sqliteBusyTimeoutMs: env.SEGUE_SQLITE_BUSY_TIMEOUT_MS,
    publicUrl: (env.SEGUE_PUBLIC_URL ?? `${tls ? 'https' : 'http'}://${publicHost}:${env.PORT}`).replace(/\/+$/, ''),
    publicUrlSet: env.SEGUE_PUBLIC_URL !== undefined,
    bootstrapKey: env.SEGUE_BOOTSTRAP_KEY,
    bootstrapCredits: env.SEGUE_BOOTSTRAP_CREDITS,
    allowPrivateNetworks: env.SEGUE_ALLOW_PRIVATE_NETWORKS,
    ffmpegPath: env.SEGUE_FFMPEG,
    ffprobePath: env.SEGUE_FFPROBE,
    logLevel: env.SEGUE_LOG_LEVEL,
    runWorker: env.SEGUE_RUN_WORKER,
    workerKinds: env.SEGUE_WORKER_KINDS ? Object.freeze([...env.SEGUE_WORKER_KINDS]) : undefined,
    workerConcurrency: env.SEGUE_WORKER_CONCURRENCY,
    workerPollConcurrency: env.SEGUE_WORKER_POLL_CONCURRENCY,
    localRenderConcurrency: env.SEGUE_LOCAL_RENDER_CONCURRENCY,
    workerPollMs: env.SEGUE_WORKER_POLL_MS,
    jobLeaseMs: env.SEGUE_JOB_LEASE_SECONDS * 1000,
    shutdownGraceMs: env.SEGUE_SHUTDOWN_GRACE_SECONDS * 1000,
    urlSigningSecret: env.SEGUE_URL_SIGNING_SECRET,
    urlTtlSeconds: env.SEGUE_URL_TTL_SECONDS,
    timeFormat: env.SEGUE_TIME_FORMAT,
    extendResultUrls: env.SEGUE_EXTEND_RESULT_URLS,
    callbackUrlsAsString: env.SEGUE_CALLBACK_URLS_AS_STRING,
    fourKCallbackShape: env.SEGUE_4K_CALLBACK_SHAPE,
    callbackTimeoutMs: env.SEGUE_CALLBACK_TIMEOUT_SECONDS * 1000,
    callbackConcurrencyPerDestination: env.SEGUE_CALLBACK_CONCURRENCY_PER_DESTINATION,
    callbackRetryScheduleMs: Object.freeze([...env.SEGUE_CALLBACK_RETRY_SCHEDULE]),
    mediaMaxBytes: env.SEGUE_MEDIA_MAX_BYTES,
    mediaTimeoutMs: env.SEGUE_MEDIA_TIMEOUT_SECONDS * 1000,
    ffmpegTimeoutMs: env.SEGUE_FFMPEG_TIMEOUT_SECONDS * 1000,
    minFreeDiskBytes: env.SEGUE_MIN_FREE_DISK_MB * 1024 * 1024,
    adminKey: env.SEGUE_ADMIN_KEY,
    pricesFile: env.SEGUE_PRICES,
    rateLimit: env.SEGUE_RATE_LIMIT,
    readRateLimit: env.SEGUE_READ_RATE_LIMIT,
    maxUnfinishedTasks: env.SEGUE_MAX_UNFINISHED_TASKS,
    maintenance: env.SEGUE_MAINTENANCE,
    disabledFeatures: Object.freeze([...env.SEGUE_DISABLED_FEATURES]),
    promptBlocklistFile: env.SEGUE_PROMPT_BLOCKLIST,
    englishOnly: env.SEGUE_ENGLISH_ONLY,
    taskTimeoutMs: env.SEGUE_TASK_TIMEOUT_SECONDS * 1000,
    providersFile: env.SEGUE_PROVIDERS,
    s3:
      env.SEGUE_BLOB_STORE === 's3'
        ? Object.freeze({ bucket: env.SEGUE_S3_BUCKET!, endpoint: env.SEGUE_S3_ENDPOINT, region: env.SEGUE_S3_REGION, forcePathStyle: env.SEGUE_S3_FORCE_PATH_STYLE })
        : undefined,
    blobLinks: env.SEGUE_BLOB_LINKS,
  });
}

/**
 * A process started apart from the others (`segue serve`, `segue worker`) makes result links
 * (answers, callbacks, extension sources) that every other process must make and accept alike:
 * it refuses to start unless SEGUE_URL_SIGNING_SECRET and SEGUE_PUBLIC_URL are both set, rather
 * than fall back to a secret of its own data directory and a URL of its own address.
 */
export function requireSharedLinkSettings(config: Config, command: string): void {
  const missing = [
    ...(config.urlSigningSecret ? [] : ['SEGUE_URL_SIGNING_SECRET']),
    ...(config.publicUrlSet ? [] : ['SEGUE_PUBLIC_URL']),
  ];
  if (missing.length === 0) return;
  throw new ConfigError(
    `segue ${command} runs apart from the other Segue processes: set ${missing.join(' and ')} ` +
      '(every process that makes result links must share SEGUE_URL_SIGNING_SECRET and SEGUE_PUBLIC_URL)',
  );
}
