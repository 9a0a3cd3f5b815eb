/**
 * CPU time and heap allocation of a server process over a load run, read from
 * outside the process: CPU from /proc/<pid>/stat, allocation from the lines
 * that node's `--trace-gc-nvp` prints on stdout for every garbage collection.
 *
 * Each line's `allocated=` is the bytes allocated on the V8 heap since the
 * previous collection, and `promoted=` the bytes a scavenge moved to the old
 * generation; summing the lines printed during a run gives the run's
 * allocation to within one collection's worth (a young generation of a few MB
 * against the hundreds of MB a 5 s run allocates). Worker threads have their
 * own heaps and print their own lines: they are counted too, so a process
 * that moves work into a worker is not flattered. Off-heap memory (Buffers'
 * backing stores, SQLite's) is not in these figures.
 */
import { readCpuSeconds, type NodeChild } from './processes.ts';

/** The node flag that makes a process print the lines this meter reads. */
export const GC_TRACE_FLAG = '--trace-gc-nvp';

const ALLOCATED = / allocated=(\d+)/;
const PROMOTED = / promoted=(\d+)/;

/** V8 prints a small negative difference as its unsigned 64-bit value; read it back as signed. */
function signed(digits: string): number {
  const value = BigInt(digits);
  return Number(value >= 1n << 63n ? value - (1n << 64n) : value);
}

export interface Usage {
  cpuS: number;
  allocatedBytes: number;
  promotedBytes: number;
  collections: number;
}

export interface GcMeter {
  /** Totals since the meter was created. */
  read(): Usage;
  stop(): void;
}

/** Starts summing `child`'s GC lines (it must run with {@link GC_TRACE_FLAG}). */
export function meterProcess(child: NodeChild): GcMeter {
  let allocatedBytes = 0;
  let promotedBytes = 0;
  let collections = 0;
  const stop = child.onLine((line) => {
    const allocated = ALLOCATED.exec(line);
    if (!allocated) return;
    collections++;
    allocatedBytes += signed(allocated[1]!);
    promotedBytes += signed(PROMOTED.exec(line)?.[1] ?? '0');
  });
  return {
    read: () => ({ cpuS: readCpuSeconds(child.pid), allocatedBytes, promotedBytes, collections }),
    stop,
  };
}

/** Per-request figures between two readings. */
export function perRequest(before: Usage, after: Usage, requests: number) {
  return {
    cpuUsPerRequest: ((after.cpuS - before.cpuS) / requests) * 1e6,
    allocatedBytesPerRequest: (after.allocatedBytes - before.allocatedBytes) / requests,
    promotedBytesPerRequest: (after.promotedBytes - before.promotedBytes) / requests,
    collections: after.collections - before.collections,
  };
}
