/**
 * Entry point of the `pulsar-tasks` command (bin/pulsar-tasks.js imports it): runs the command
 * line and sets the exit status. `serve` keeps running after this returns, until a signal.
 */
import { runCli } from './cli/program.js';

process.exitCode = await runCli(process.argv);
