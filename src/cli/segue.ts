import { ConfigError } from '../config/config.js';
import { DomainError } from '../domain/errors.js';
import { callbackCommand, callbackUsage } from './callback-commands.js';
import { UsageError } from './cli-support.js';
import { fakeUpstreamCommand, fakeUpstreamUsage } from './fake-upstream-command.js';
import { keyCommand, keyUsage } from './key-commands.js';
import { creditCommand, moneyUsage, taskCommand } from './money-commands.js';
import { processUsage, serveCommand, workerCommand } from './process-commands.js';

const usage = `Usage: segue <command>

Commands:
${keyUsage}
${callbackUsage}
${moneyUsage}
${fakeUpstreamUsage}
${processUsage}

Configuration comes from the environment (see .env.example).`;

async function main(argv: string[]): Promise<void> {
  const [command, subcommand, ...rest] = argv;
  if (command === 'keys') return keyCommand(subcommand, rest);
  if (command === 'callbacks') return callbackCommand(subcommand, rest);
  if (command === 'credits') return creditCommand(subcommand, rest);
  if (command === 'tasks') return taskCommand(subcommand, rest);
  if (command === 'serve') return serveCommand(argv.slice(1));
  if (command === 'worker') return workerCommand(argv.slice(1));
  if (command === 'fake-upstream') return fakeUpstreamCommand(subcommand, rest);
  throw new UsageError(command ? `unknown command: ${command}` : 'no command given');
}

main(process.argv.slice(2)).catch((error) => {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}\n`);
    process.exit(2);
  }
  if (error instanceof ConfigError || error instanceof DomainError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`segue: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
