import { join } from 'node:path';
import { parseArgs } from 'node:util';
// Not ../idp/index.js: account commands need no OpenID Provider (oidc-provider loads slowly).
import { openIdpDatabase, SqliteAccountStore } from '../idp/accounts.js';
import { fail } from '../errors/catalogue.js';
import { DEPLOYMENT_FLAGS, usage } from './common.js';

const HELP = `
Usage:
  highrate user add NAME [--groups a,b] [--password-stdin]   create an account
  highrate user passwd NAME [--password-stdin]               set a new password
  highrate user groups NAME --groups a,b                      replace the groups
  highrate user list                                          list accounts and groups
  highrate user remove NAME                                   delete an account

Accounts of the embedded identity provider (auth.kind: embedded). Passwords are read from the
terminal twice, or once from standard input with --password-stdin; at least 8 characters.

Options:
  --data-dir DIR   state directory (default ./highrate-data)
  -h, --help       this help
`;

export async function user(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...DEPLOYMENT_FLAGS, groups: { type: 'string' }, 'password-stdin': { type: 'boolean' } } });
  const [verb, name] = positionals;
  if (values.help) return usage(HELP);
  if (!verb || !['add', 'passwd', 'groups', 'list', 'remove'].includes(verb) || (verb !== 'list' && !name)) {
    usage(HELP);
    return 2;
  }
  const db = openIdpDatabase(join(values['data-dir'] ?? './highrate-data', 'idp'));
  const accounts = new SqliteAccountStore(db);
  const groups = values.groups === undefined ? undefined : values.groups.split(',').map((g) => g.trim()).filter(Boolean);
  try {
    switch (verb) {
      case 'list':
        for (const a of await accounts.list()) process.stdout.write(`${a.username}\t${a.groups.join(',')}\n`);
        return 0;
      case 'add':
        await accounts.add(name!, await readPassword(values['password-stdin'] ?? false, verb, name!), groups ?? []);
        process.stdout.write(`Created account ${name}.\n`);
        return 0;
      case 'passwd':
        await accounts.setPassword(name!, await readPassword(values['password-stdin'] ?? false, verb, name!));
        process.stdout.write(`Password of ${name} changed.\n`);
        return 0;
      case 'groups':
        if (!groups) throw fail('BAD_REQUEST', '--groups is required');
        await accounts.setGroups(name!, groups);
        process.stdout.write(`Groups of ${name}: ${groups.join(', ') || '(none)'}; they take effect at the next login.\n`);
        return 0;
      case 'remove':
        await accounts.remove(name!);
        process.stdout.write(`Removed account ${name}.\n`);
        return 0;
    }
    return 2;
  } finally {
    db.close();
  }
}

async function readPassword(fromStdin: boolean, verb: string, name: string): Promise<string> {
  if (!fromStdin && !process.stdin.isTTY) {
    throw fail('BAD_REQUEST', `No terminal to ask for the password. Pass it on standard input with --password-stdin, e.g. printf '%s\\n' "$PASSWORD" | highrate user ${verb} ${name} --password-stdin`);
  }
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  const { createInterface } = await import('node:readline/promises');
  const ask = async (q: string) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => { if (s.includes(q)) process.stdout.write(q); };
    const v = await rl.question(q);
    rl.close();
    process.stdout.write('\n');
    return v;
  };
  const a = await ask('Password: ');
  const b = await ask('Repeat password: ');
  if (a !== b) throw fail('BAD_REQUEST', 'The passwords differ.');
  return a;
}
