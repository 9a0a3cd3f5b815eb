import { createMemoryCallLog } from '../../src/logs/memory-store.ts';
import { runStoreContract } from './store-contract.ts';

runStoreContract('memory', {
  persistent: false,
  async open(retention = {}) {
    return { store: createMemoryCallLog(retention) };
  },
});
