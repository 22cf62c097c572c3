import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.js';
import { configReference } from '../config/docs.js';
import { HighrateError } from '../errors/catalogue.js';
import { usage } from './common.js';

const HELP = `
Usage:
  highrate config check FILE   validate a YAML config; names every unknown key or bad value
  highrate config docs         print the configuration reference (Markdown)
`;

export async function config(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) return usage(HELP);
  if (positionals[0] === 'docs' && positionals.length === 1) {
    process.stdout.write(configReference());
    return 0;
  }
  if (positionals[0] === 'check' && positionals.length === 2) {
    try {
      const cfg = loadConfigFile(positionals[1]!);
      process.stdout.write(`${positionals[1]} is valid: ${cfg.profiles.length} profile(s), ${cfg.executors.length} executor(s), auth ${cfg.auth.kind}.\n`);
      return 0;
    } catch (err) {
      if (err instanceof HighrateError) {
        process.stderr.write(err.message + '\n');
        return 1;
      }
      throw err;
    }
  }
  usage(HELP);
  return 2;
}
