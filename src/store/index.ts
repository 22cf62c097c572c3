/** The store's public surface: the interface, its SQL implementation and the URL opener. */
export type {
  Store, UserRow, ServerRow, ServerState, TokenRow, SessionRow, LoginStateRow, ListUsersQuery, UidRange, UnixIdentityRow,
} from './types.js';
export { KyselyStore, createStore, type CreateStoreOptions, type KyselyStoreOptions } from './kysely-store.js';
export { parseStoreUrl, type StoreTarget } from './connect.js';
export { SCHEMA_VERSION } from './migrations.js';
export type { Backend } from './schema.js';
