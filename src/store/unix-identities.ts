/**
 * Unix identities of platform users (migration 4): the uid and gid their pods run as, made on
 * first use and never freed, so files a user leaves on shared storage never change owner.
 */
import type { Kysely } from 'kysely';
import { fail } from '../errors/catalogue.js';
import { Aggregate } from './aggregate.js';
import { toUnixIdentityRow } from './rows.js';
import type { Database } from './schema.js';
import type { UidRange, UnixIdentityRow } from './types.js';

/** The largest Linux uid; 2^32 - 1 is (uid_t) -1, "no uid". */
const MAX_UID = 4_294_967_294;

export class UnixIdentities extends Aggregate {
  async getUnixIdentity(user: string): Promise<UnixIdentityRow | null> {
    return identityOf(this.db, user);
  }

  async allocateUnixIdentity(user: string, range: UidRange, isTaken: (uid: number) => boolean): Promise<UnixIdentityRow> {
    // Asked at every server start; only a user's first one needs the write lock.
    const known = await identityOf(this.db, user);
    if (known) return known;
    checkRange(range);
    const created = this.now();
    return this.tx('write', async function allocateInTransaction(db) {
      const mine = await identityOf(db, user);
      if (mine) return mine;
      const top = await highestUid(db, range);
      let allocated: Set<number> | undefined;
      for (const uid of uidOrder(range, top)) {
        if (top !== null && uid < top) {
          allocated ??= await allocatedUids(db, range.min, top);
          if (allocated.has(uid)) continue;
        }
        if (isTaken(uid)) continue;
        const row = { user_name: user, uid, gid: uid, created };
        // Without a target, DO NOTHING covers both the primary key and the unique uid. SQLite
        // never gets here with a conflict (BEGIN IMMEDIATE serialises writers). PostgreSQL does:
        // another hub's transaction read the same highest uid; this insert waits for it to commit
        // and then inserts nothing instead of failing, so the transaction can go on. (Rolling back
        // on the unique violation and re-running, five times at most, lost 1 to 10 of the 40
        // allocations of the two-process race in the tests: some 20 transactions want each uid.)
        const inserted = await db.insertInto('unix_identities').values(row).onConflict((oc) => oc.doNothing()).returning('uid').executeTakeFirst();
        if (inserted) return toUnixIdentityRow(row);
        const theirs = await identityOf(db, user);
        if (theirs) return theirs; // the other hub allocated for this very user
        // the other hub gave this uid to someone else: the next one
      }
      throw fail('CONFIG_INVALID', `No free uid left in the range ${range.min}–${range.max} for ${user}; widen pods.uidRange.`);
    });
  }
}

async function identityOf(db: Kysely<Database>, user: string): Promise<UnixIdentityRow | null> {
  const row = await db.selectFrom('unix_identities').selectAll().where('user_name', '=', user).executeTakeFirst();
  return row ? toUnixIdentityRow(row) : null;
}

async function highestUid(db: Kysely<Database>, range: UidRange): Promise<number | null> {
  const row = await db.selectFrom('unix_identities')
    .select((eb) => eb.fn.max('uid').as('top'))
    .where('uid', '>=', range.min).where('uid', '<=', range.max)
    .executeTakeFirst();
  return row?.top == null ? null : Number(row.top);
}

async function allocatedUids(db: Kysely<Database>, from: number, below: number): Promise<Set<number>> {
  const rows = await db.selectFrom('unix_identities').select('uid').where('uid', '>=', from).where('uid', '<', below).execute();
  return new Set(rows.map((r) => Number(r.uid)));
}

/**
 * Candidate uids in order: above the highest one allocated in the range (`min` when none), then,
 * once the top of the range is reached, the gaps below it (uids `isTaken` refused earlier, or
 * below a range that was moved), as useradd does; only then is the range exhausted.
 */
function* uidOrder(range: UidRange, top: number | null): Generator<number> {
  for (let uid = top === null ? range.min : top + 1; uid <= range.max; uid++) yield uid;
  if (top !== null) for (let uid = range.min; uid < top; uid++) yield uid;
}

/** Refused here too, not only in the config: a bad range would store a bad uid, or root's. */
function checkRange(range: UidRange): void {
  const { min, max } = range;
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 1 || min > max || max > MAX_UID) {
    throw fail('CONFIG_INVALID', `A uid range must be whole numbers with 1 ≤ min ≤ max ≤ ${MAX_UID}, not ${min}–${max}.`);
  }
}
