/** `rss`: resident memory of a fresh proxy process before and after 100,000 requests. */
import { runLoad } from './lib/load.ts';
import { readMemory } from './lib/processes.ts';
import { BENCH_HEADERS, BENCH_REQUEST, startProxyProcess, writeBenchConfig } from './lib/servers.ts';
import { round } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const MB = 1e6;

async function run(context: BenchContext): Promise<SectionResult> {
  const requests = context.quick ? 10_000 : 100_000;
  const connections = 10;
  const proxy = await startProxyProcess(context, writeBenchConfig(context.tmpDir));
  let before: ReturnType<typeof readMemory>;
  let after: ReturnType<typeof readMemory>;
  let load: Awaited<ReturnType<typeof runLoad>>;
  try {
    before = readMemory(proxy.child.pid);
    context.log(`rss: sending ${requests} requests at c=${connections}`);
    load = await runLoad(context.root, { url: `${proxy.url}/v1/messages`, body: BENCH_REQUEST, headers: BENCH_HEADERS, connections, amount: requests });
    after = readMemory(proxy.child.pid);
  } finally {
    await proxy.stop();
  }
  const afterMb = after.rssBytes / MB;
  return {
    tables: [
      {
        title: `Memory: proxy RSS (/proc/<pid>/status) before and after ${requests} requests`,
        columns: ['when', 'VmRSS MB', 'VmHWM (peak) MB'],
        rows: [
          ['after start + 1 request', round(before.rssBytes / MB, 1), round(before.peakRssBytes / MB, 1)],
          [`after ${load.requests} requests`, round(afterMb, 1), round(after.peakRssBytes / MB, 1)],
        ],
        notes: [`MB = 10^6 bytes. Load: c=${connections}, ${Math.round(load.rps)} req/s.`],
      },
    ],
    targets: [{ name: `proxy RSS after ${requests} requests`, target: '≤ 150 MB', measured: `${round(afterMb, 1)} MB`, pass: afterMb <= 150 }],
    data: { requests: load.requests, connections, before, after, rps: load.rps },
  };
}

export const sections: BenchSection[] = [{ name: 'rss', description: 'proxy RSS after 100,000 requests (VmRSS from /proc)', run }];
