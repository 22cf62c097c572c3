import { parseArgs } from 'node:util';
import { formatBytes } from '../contracts/format.js';
import { fail } from '../errors/catalogue.js';
import { usage } from './common.js';
import { callHub, HUB_CLIENT_OPTIONS, hubContext } from './hub-client.js';

const HELP = `
Usage: highrate data COMMAND [options]

Data in Rucio, through the platform (as your Rucio account): what the portal's Data page does.
A data identifier (DID) is written scope:name, e.g. data:dataset1.

Commands:
  search SCOPE:PATTERN     DIDs whose name matches (* wildcards), e.g. "data:*2024*"
      --type all|collection|dataset|container|file   (default collection)   --limit N
  ls DID                   a DID: type, size, its files with sizes and checksums
  replicas DID             where its files are: per RSE, and whether all are at this facility
  urls DID                 one URL per file on the nearest replica (for ROOT, uproot, xrdcp)
  stage DID                make it available at this facility (a Rucio rule to its RSE); prints
                           the rule id as the last line
      --lifetime SECONDS   how long the rule lives (default: the facility's)
      --wait               wait until every file has arrived (progress on stderr)
  rules                    your rules, with their progress
  rules RULE_ID            one rule with each file's state
      --delete             delete it (the data may then leave the facility)
  quota                    your limit and usage at this facility

Options:
${HUB_CLIENT_OPTIONS}
`;


function progressText(r: any): string {
  const l = r.locks;
  return `${r.state} ${l.ok}/${l.total} files${l.stuck ? `, ${l.stuck} stuck` : ''}`;
}

const did = (args: string[], cmd: string): string => {
  const d = args[0];
  if (!d) throw fail('BAD_REQUEST', `highrate data ${cmd} needs a DID (scope:name).`);
  return encodeURIComponent(d);
};

/** `highrate data …`: search, ls, replicas, urls, stage, rules, quota. */
export async function data(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      type: { type: 'string' }, limit: { type: 'string' }, lifetime: { type: 'string' }, wait: { type: 'boolean' }, delete: { type: 'boolean' },
    },
  });
  const [cmd, ...args] = positionals;
  if (values.help || !cmd) {
    usage(HELP);
    return values.help ? 0 : 2;
  }
  const ctx = hubContext(values);
  const out = (line: string) => process.stdout.write(line + '\n');
  const json = (v: unknown) => (out(JSON.stringify(v, null, 2)), 0);

  switch (cmd) {
    case 'search': {
      if (!args[0]) throw fail('BAD_REQUEST', 'highrate data search needs SCOPE:PATTERN, e.g. "data:*".');
      const q = new URLSearchParams({ did: args[0], type: values.type ?? 'collection', ...(values.limit ? { limit: values.limit } : {}) });
      const r = await callHub(ctx, 'GET', `/hub/api/data/search?${q}`);
      if (ctx.json) return json(r);
      if (r.dids.length === 0) return out(`Nothing matches ${args[0]}.`), 0;
      for (const d of r.dids) out(`${d.did}  ${d.type}  ${formatBytes(d.bytes)}${d.length !== null && d.type !== 'FILE' ? `  ${d.length} files` : ''}`);
      return 0;
    }
    case 'ls': {
      const r = await callHub(ctx, 'GET', `/hub/api/data/dids/${did(args, cmd)}`);
      if (ctx.json) return json(r);
      out(`${r.did}  ${r.type}  ${formatBytes(r.bytes)} in ${r.files_count} file${r.files_count === 1 ? '' : 's'}`);
      for (const c of r.type === 'CONTAINER' ? r.children : []) out(`  ${c.did}  ${c.type}`);
      for (const f of r.files) out(`  ${f.did}  ${formatBytes(f.bytes)}  adler32:${f.adler32 ?? '?'}`);
      if (r.files_truncated) out(`  … ${r.files_count - r.files.length} more files`);
      return 0;
    }
    case 'replicas': {
      const r = await callHub(ctx, 'GET', `/hub/api/data/dids/${did(args, cmd)}/replicas`);
      if (ctx.json) return json(r);
      for (const s of r.rses) out(`${s.rse}  ${s.files}/${r.files_count} files  ${formatBytes(s.bytes)}${s.complete ? '  complete' : ''}`);
      if (r.rses.length === 0) out('No replicas.');
      out(r.facility.complete ? `Available at this facility (${r.facility.rse}).` : `Not (all) at this facility (${r.facility.rse}): \`highrate data stage ${args[0]}\` brings it here.`);
      return 0;
    }
    case 'urls': {
      const r = await callHub(ctx, 'GET', `/hub/api/data/dids/${did(args, cmd)}/files`);
      if (ctx.json) return json(r);
      for (const f of r.files) out(f.url);
      for (const m of r.missing) process.stderr.write(`No replica of ${m}\n`);
      return r.missing.length ? 1 : 0;
    }
    case 'stage': {
      if (!args[0]) throw fail('BAD_REQUEST', 'highrate data stage needs a DID (scope:name).');
      const lifetime = values.lifetime === undefined ? undefined : Number(values.lifetime);
      if (lifetime !== undefined && !(Number.isInteger(lifetime) && lifetime > 0)) throw fail('BAD_REQUEST', '--lifetime is a whole number of seconds.');
      let r = await callHub(ctx, 'POST', '/hub/api/data/rules', { did: args[0], ...(lifetime ? { lifetime } : {}) });
      if (!ctx.json) process.stderr.write(`Rule ${r.id} to ${r.rse_expression}: ${progressText(r)}\n`);
      if (values.wait) {
        let last = progressText(r);
        while (r.state === 'REPLICATING' || r.state === 'INJECT' || r.state === 'WAITING_APPROVAL') {
          await new Promise((res) => setTimeout(res, 500));
          r = await callHub(ctx, 'GET', `/hub/api/data/rules/${r.id}`);
          const line = progressText(r);
          if (line !== last && !ctx.json) process.stderr.write(line + '\n');
          last = line;
        }
        if (r.state !== 'OK') throw fail('DATA_UPSTREAM', `Rule ${r.id} is ${r.state}${r.error ? `: ${r.error}` : ''}.`);
      }
      if (ctx.json) return json(r);
      out(r.id);
      return 0;
    }
    case 'rules': {
      if (args[0]) {
        const id = encodeURIComponent(args[0]);
        if (values.delete) {
          await callHub(ctx, 'DELETE', `/hub/api/data/rules/${id}`);
          out(`Deleted rule ${args[0]}.`);
          return 0;
        }
        const r = await callHub(ctx, 'GET', `/hub/api/data/rules/${id}`);
        if (ctx.json) return json(r);
        out(`${r.id}  ${r.did}  → ${r.rse_expression}  ${progressText(r)}${r.expires_at ? `  expires ${r.expires_at}` : ''}`);
        for (const f of r.files) out(`  ${f.did}  ${f.rse}  ${f.state}`);
        return 0;
      }
      const r = await callHub(ctx, 'GET', '/hub/api/data/rules');
      if (ctx.json) return json(r);
      if (r.rules.length === 0) return out('No rules.'), 0;
      for (const x of r.rules) out(`${x.id}  ${x.did}  → ${x.rse_expression}  ${progressText(x)}`);
      return 0;
    }
    case 'quota': {
      const r = await callHub(ctx, 'GET', '/hub/api/data/quota');
      if (ctx.json) return json(r);
      const f = r.facility;
      out(`${r.account} at ${r.facility_rse}: ${formatBytes(f.bytes)} of ${f.bytes_limit === null ? 'no limit (Rucio allows nothing)' : formatBytes(f.bytes_limit)} used, ${f.files} files`);
      return 0;
    }
    default:
      process.stderr.write(`Unknown data command: ${cmd}\n${HELP}`);
      return 2;
  }
}
