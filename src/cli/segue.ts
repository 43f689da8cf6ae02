import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { createSegue } from '../app/segue.js';
import { KeyService } from '../services/key-service.js';
import { openSqliteDatabase } from '../storage/database.js';
import { createSqlStorage } from '../storage/storage.js';

const usage = `Usage: segue <command>

Commands:
  keys create --name NAME [--credits N] [--json]   create an API key (shown once) with a credit grant
  worker                                           run only the job worker (no HTTP), on SEGUE_DATA_DIR

Configuration comes from the environment (see .env.example).`;

async function keysCreate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { name: { type: 'string' }, credits: { type: 'string', default: '0' }, json: { type: 'boolean', default: false } },
  });
  if (!values.name) throw new UsageError('keys create needs --name NAME');
  const credits = Number(values.credits);
  if (!Number.isSafeInteger(credits) || credits < 0) throw new UsageError('--credits must be a whole number ≥ 0');
  const config = loadConfig();
  const database = await openSqliteDatabase(config.dataDir);
  try {
    const issued = await new KeyService(createSqlStorage(database.db)).create(values.name, credits);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ key: issued.key, webhookSecret: issued.webhookSecret })}\n`);
    } else {
      process.stdout.write(`API key (shown only once): ${issued.key}\nWebhook signing secret: ${issued.webhookSecret}\n`);
    }
  } finally {
    await database.close();
  }
}

async function runWorker(): Promise<void> {
  const segue = await createSegue(loadConfig());
  segue.worker.start();
  segue.logger.info({ workerId: segue.worker.id }, 'worker started');
  const stop = () => segue.close().then(() => process.exit(0), () => process.exit(1));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const [command, subcommand, ...rest] = argv;
  if (command === 'keys' && subcommand === 'create') return keysCreate(rest);
  if (command === 'worker') return runWorker();
  throw new UsageError(command ? `unknown command: ${[command, subcommand].filter(Boolean).join(' ')}` : 'no command given');
}

main(process.argv.slice(2)).catch((error) => {
  if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${usage}\n`);
  else if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`segue: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
