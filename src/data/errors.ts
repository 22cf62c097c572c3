import { fail, type HighrateError } from '../errors/catalogue.js';
import { RucioError } from './rucio/errors.js';

/**
 * Turns what Rucio answered into the hub's error, with a message that says what to do. Rucio's
 * own message is kept in the log detail; the user sees ours (and Rucio's where it helps).
 */
export function dataError(err: unknown, what: { account: string; did?: string; rse?: string; rucioUrl: string }): HighrateError | unknown {
  if (!(err instanceof RucioError)) return err;
  const detail = `${err.exceptionClass} (${err.status}): ${err.message}`;
  const opts = { detail, extra: { rucio_exception: err.exceptionClass } };
  switch (err.exceptionClass) {
    case 'DataIdentifierNotFound':
    case 'ScopeNotFound':
    case 'KeyNotFound':
      return fail('DATA_NOT_FOUND', `${what.did ?? 'The data identifier'} does not exist in Rucio. Check the scope and name (search with a wildcard, e.g. "${(what.did ?? 'scope:').split(':')[0]}:*").`, opts);
    case 'RuleNotFound':
      return fail('DATA_NOT_FOUND', 'No such rule of yours. List your rules with `highrate data rules`.', opts);
    case 'InsufficientAccountLimit':
      return fail('DATA_QUOTA_EXCEEDED', `Your Rucio account "${what.account}" has not enough quota left at ${what.rse ?? 'the facility'} for ${what.did ?? 'this data'}. Delete rules you no longer need (\`highrate data rules\`), or ask the facility's data managers to raise your limit.`, opts);
    case 'AccessDenied':
      return fail('FORBIDDEN', `Rucio does not allow account "${what.account}" to do this: ${err.message}`, opts);
    case 'CannotAuthenticate':
    case 'IdentityError':
    case 'IdentityNotFound':
      return fail('DATA_UPSTREAM', `Rucio refused the hub's login as account "${what.account}" (${err.message}). The account may not exist in Rucio or not be linked to the hub's identity: tell the facility's administrators (data.rucio in the hub's config).`, opts);
    case 'RSENotFound':
    case 'InvalidRSEExpression':
      return fail('DATA_UPSTREAM', `Rucio does not know the facility's storage ${what.rse ?? ''}: the hub's data.rucio.facilityRse is wrong; tell the facility's administrators.`, opts);
    case 'RucioUnreachable':
      return fail('DATA_UPSTREAM', `Rucio at ${what.rucioUrl} is not reachable. Try again in a few minutes; if it persists, tell the facility's administrators.`, opts);
    default:
      return fail('DATA_UPSTREAM', `Rucio answered ${err.status} ${err.exceptionClass}: ${err.message.slice(0, 300)}`, opts);
  }
}
