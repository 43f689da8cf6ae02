import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/config.js';

test('defaults follow the design contract', () => {
  const config = loadConfig({});
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8080);
  assert.equal(config.dataDir, path.resolve('./data'));
  assert.equal(config.publicUrl, 'http://127.0.0.1:8080');
  assert.equal(config.bootstrapCredits, 10000);
  assert.equal(config.allowPrivateNetworks, false);
  assert.equal(config.ffmpegPath, undefined);
  assert.equal(config.databaseUrl, undefined, 'SQLite in the data directory');
  assert.equal(config.databasePoolSize, 10);
  assert.ok(Object.isFrozen(config));
});

test('contract variables are read as named', () => {
  const config = loadConfig({
    HOST: '0.0.0.0',
    PORT: '9000',
    SEGUE_DATA_DIR: '/tmp/segue-x',
    SEGUE_PUBLIC_URL: 'https://videos.example.com/',
    SEGUE_BOOTSTRAP_KEY: 'sk-0123456789abcdef',
    SEGUE_BOOTSTRAP_CREDITS: '5',
    SEGUE_ALLOW_PRIVATE_NETWORKS: 'true',
    SEGUE_FFMPEG: '/usr/bin/ffmpeg',
    SEGUE_FFPROBE: '/usr/bin/ffprobe',
    SEGUE_DATABASE_URL: 'postgresql://segue@db.example.com/segue',
  });
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.port, 9000);
  assert.equal(config.dataDir, '/tmp/segue-x');
  assert.equal(config.publicUrl, 'https://videos.example.com');
  assert.equal(config.bootstrapKey, 'sk-0123456789abcdef');
  assert.equal(config.bootstrapCredits, 5);
  assert.equal(config.allowPrivateNetworks, true);
  assert.equal(config.ffmpegPath, '/usr/bin/ffmpeg');
  assert.equal(config.ffprobePath, '/usr/bin/ffprobe');
  assert.equal(config.databaseUrl, 'postgresql://segue@db.example.com/segue');
});

test('media storage: files by default; S3 with its bucket, endpoint, region and path style; presigned links only on S3', () => {
  const defaults = loadConfig({});
  assert.equal(defaults.s3, undefined);
  assert.equal(defaults.blobLinks, 'signed');
  const s3 = loadConfig({ SEGUE_BLOB_STORE: 's3', SEGUE_S3_BUCKET: 'media', SEGUE_S3_ENDPOINT: 'http://127.0.0.1:9000', SEGUE_S3_FORCE_PATH_STYLE: 'true' });
  assert.deepEqual(s3.s3, { bucket: 'media', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true });
  assert.ok(Object.isFrozen(s3.s3));
  const presigned = loadConfig({ SEGUE_BLOB_STORE: 's3', SEGUE_S3_BUCKET: 'media', SEGUE_S3_REGION: 'eu-west-1', SEGUE_BLOB_LINKS: 'presigned', SEGUE_URL_TTL_SECONDS: '604800' });
  assert.equal(presigned.blobLinks, 'presigned');
  assert.equal(presigned.s3?.region, 'eu-west-1');
  assert.equal(presigned.s3?.endpoint, undefined);
  assert.throws(() => loadConfig({ SEGUE_BLOB_LINKS: 'presigned' }), /SEGUE_BLOB_LINKS: presigned needs SEGUE_BLOB_STORE=s3/);
});

test('the callback retry schedule reads durations with units', () => {
  assert.deepEqual(loadConfig({}).callbackRetryScheduleMs, [0, 5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000]);
  assert.deepEqual(loadConfig({ SEGUE_CALLBACK_RETRY_SCHEDULE: '0, 1s,250ms,2m,1.5h,3' }).callbackRetryScheduleMs, [0, 1000, 250, 120000, 5400000, 3000]);
});

test('a public URL defaults to a reachable address when listening on all interfaces', () => {
  assert.equal(loadConfig({ HOST: '0.0.0.0', PORT: '81' }).publicUrl, 'http://127.0.0.1:81');
});

test('a bad value stops start-up with a message naming the variable', () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ SEGUE_ALLOW_PRIVATE_NETWORKS: 'maybe' }, 'SEGUE_ALLOW_PRIVATE_NETWORKS'],
    [{ SEGUE_PUBLIC_URL: 'not a url' }, 'SEGUE_PUBLIC_URL'],
    [{ SEGUE_BOOTSTRAP_CREDITS: '-1' }, 'SEGUE_BOOTSTRAP_CREDITS'],
    [{ SEGUE_BOOTSTRAP_KEY: 'short' }, 'SEGUE_BOOTSTRAP_KEY'],
    [{ SEGUE_TIME_FORMAT: 'unix' }, 'SEGUE_TIME_FORMAT'],
    [{ SEGUE_CALLBACK_RETRY_SCHEDULE: '0,5x' }, 'SEGUE_CALLBACK_RETRY_SCHEDULE'],
    [{ SEGUE_DATABASE_URL: 'mysql://db/segue' }, 'SEGUE_DATABASE_URL'],
    [{ SEGUE_DATABASE_POOL_SIZE: '0' }, 'SEGUE_DATABASE_POOL_SIZE'],
    [{ SEGUE_BLOB_STORE: 's3' }, 'SEGUE_S3_BUCKET'],
    [{ SEGUE_BLOB_STORE: 'gcs' }, 'SEGUE_BLOB_STORE'],
    [{ SEGUE_BLOB_STORE: 's3', SEGUE_S3_BUCKET: 'b', SEGUE_S3_ENDPOINT: 'minio:9000' }, 'SEGUE_S3_ENDPOINT'],
    [{ SEGUE_BLOB_LINKS: 'presigned' }, 'SEGUE_BLOB_LINKS'],
    [{ SEGUE_BLOB_STORE: 's3', SEGUE_S3_BUCKET: 'b', SEGUE_BLOB_LINKS: 'presigned' }, 'SEGUE_URL_TTL_SECONDS'],
  ];
  for (const [environment, variable] of cases) {
    assert.throws(
      () => loadConfig(environment),
      (error: unknown) => error instanceof ConfigError && error.message.includes(variable),
      `expected ${variable} to be named`,
    );
  }
});

test('SEGUE_TLS_CERT and SEGUE_TLS_KEY: both or neither; with both the public URL defaults to https', () => {
  for (const [given, missing] of [['SEGUE_TLS_CERT', 'SEGUE_TLS_KEY'], ['SEGUE_TLS_KEY', 'SEGUE_TLS_CERT']] as const) {
    assert.throws(
      () => loadConfig({ [given]: '/etc/segue/x.pem' }),
      (error: unknown) => error instanceof ConfigError && error.message.includes(`${given} is set but ${missing} is not`),
    );
  }
  const config = loadConfig({ SEGUE_TLS_CERT: 'cert.pem', SEGUE_TLS_KEY: '/etc/segue/key.pem', PORT: '8443' });
  assert.deepEqual(config.tls, { certFile: path.resolve('cert.pem'), keyFile: '/etc/segue/key.pem' });
  assert.equal(config.publicUrl, 'https://127.0.0.1:8443');
  assert.equal(loadConfig({}).tls, undefined);
});

test('.env.example lists every variable Segue reads', async () => {
  const { configVariableNames } = await import('../src/config/config.js');
  const { readFileSync } = await import('node:fs');
  const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
  for (const name of configVariableNames) {
    assert.match(example, new RegExp(`^#? ?${name}=`, 'm'), `${name} is missing from .env.example`);
  }
});

test('providers.example.json is a valid providers file; a route to an unknown entry stops start-up with its path', async () => {
  const { loadProvidersFile } = await import('../src/providers/providers-file.js');
  const { fileURLToPath } = await import('node:url');
  const example = loadProvidersFile(fileURLToPath(new URL('../../providers.example.json', import.meta.url)));
  assert.deepEqual(example.routes['veo3'], ['google', 'local']);
  assert.equal(example.providers['google']?.maxConcurrent, 10);
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const bad = `${mkdtempSync(`${tmpdir()}/providers-`)}/bad.json`;
  writeFileSync(bad, JSON.stringify({ providers: { local: { kind: 'local' } }, routes: { veo3: ['google'], '*': ['local'] } }));
  assert.throws(() => loadProvidersFile(bad), /routes\.veo3\.0: no provider named google/);
});
