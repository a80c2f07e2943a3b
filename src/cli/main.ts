import { Command } from 'commander';
import { VERSION } from '../version';
import { reportAndExitCode } from './errors';
import { registerCheckConfig } from './commands/check-config';
import { registerDashboard } from './commands/dashboard';
import { registerParse } from './commands/parse';
import { registerProcess } from './commands/process';
import { registerQuery } from './commands/query';
import { registerReplay } from './commands/replay';
import { registerReport } from './commands/report';
import { registerRun } from './commands/run';
import { registerTail } from './commands/tail';

export function buildProgram(): Command {
  const program = new Command('tailplow')
    .description('Turn the Nginx access log of a Snowplow tracking pixel into web analytics.')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError('(run `tailplow help <command>` for its options)');
  registerParse(program);
  registerTail(program);
  registerReplay(program);
  registerProcess(program);
  registerRun(program);
  registerQuery(program);
  registerDashboard(program);
  registerReport(program);
  registerCheckConfig(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that goes away (`tailplow parse … | head`) ends the command quietly, as in other Unix tools.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportAndExitCode(err, (s) => process.stderr.write(s));
  }
}
