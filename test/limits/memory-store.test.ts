import { createMemoryLimitStore } from '../../src/limits/memory-store.ts';
import { runLimitStoreContract } from './store-contract.ts';

runLimitStoreContract('memory', {
  open: async () => createMemoryLimitStore(),
  // One process's memory: every "replica" is the same store.
  replica: async (store) => store,
});
