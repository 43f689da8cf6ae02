import { ConfigError } from '../config/config.js';
import { DomainError } from '../domain/errors.js';
import { callbackCommand, callbackUsage } from './callback-commands.js';
import { UsageError } from './cli-support.js';
import { fakeUpstreamCommand, fakeUpstreamUsage } from './fake-upstream-command.js';
import { keyCommand, keyUsage } from './key-commands.js';
import { creditCommand, moneyUsage, taskCommand } from './money-commands.js';
import { taskViewCommand } from './task-view-commands.js';
import { extendCommand, generateCommand, videoUsage } from './video-commands.js';
import { processUsage, serveCommand, workerCommand } from './process-commands.js';

const usage = `Usage: segue <command>

Videos (over HTTP, against a running Segue):
${videoUsage}

Operators (on the database itself, not over HTTP):
${keyUsage}
${callbackUsage}
${moneyUsage}
${fakeUpstreamUsage}
${processUsage}

Configuration comes from the environment (see .env.example).`;

async function main(argv: string[]): Promise<void> {
  const [command, subcommand, ...rest] = argv;
  if (command === 'generate') return generateCommand(argv.slice(1));
  if (command === 'extend') return extendCommand(argv.slice(1));
  if (command === 'tasks' && (subcommand === 'show' || subcommand === 'list')) return taskViewCommand(subcommand, rest);
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
  const code = (error as { code?: unknown }).code;
  if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}\n`);
    process.exit(2);
  }
  if (error instanceof ConfigError || error instanceof DomainError) process.stderr.write(`${error.message}\n`);
  else {
    // fetch says only "fetch failed"; the reason (refused, unknown host, bad certificate) is its cause.
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
    process.stderr.write(`segue: ${error instanceof Error ? error.message : String(error)}${cause}\n`);
  }
  process.exit(1);
});
