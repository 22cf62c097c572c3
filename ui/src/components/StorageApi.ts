/** The storage API (src/hub/api/storage.ts): its models (one definition with the hub's, in src/contracts) and paths. */

export type { StorageElementModel, StorageElementState, StorageEntry, StorageListing, StorageRoots } from '../../../src/contracts/storage.js';

export const storageElementsPath = (refresh: boolean) => (refresh ? '/hub/api/storage?refresh=1' : '/hub/api/storage');
export const storageBrowsePath = (path?: string) => (path === undefined ? '/hub/api/data/storage' : `/hub/api/data/storage?${new URLSearchParams({ path })}`);
