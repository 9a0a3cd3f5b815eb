/**
 * The minimal translating proxy: the limit of what a Node proxy that does
 * TokenPak's gateway job costs (a baseline of the `gateway` section, issue 14).
 * node:http in, one undici Pool out, the JSON parsed and rebuilt both ways, a
 * request id per call, and each call logged to node:sqlite in batches (one
 * transaction every 100 ms, as TokenPak's default `logs.flush_ms`). No
 * routing, validation, retries, cost or error handling beyond a 502.
 *
 * `node bench/minimal-proxy.ts` with MINIMAL_UPSTREAM (the upstream's origin),
 * MINIMAL_API_KEY and MINIMAL_DB (the SQLite file); prints {"port":N} once listening.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { DatabaseSync } from 'node:sqlite';
import { Pool } from 'undici';

const upstream = process.env.MINIMAL_UPSTREAM ?? 'http://127.0.0.1:1';
const apiKey = process.env.MINIMAL_API_KEY ?? '';
const pool = new Pool(upstream, { keepAliveTimeout: 30_000 });

const db = new DatabaseSync(process.env.MINIMAL_DB ?? ':memory:');
db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
db.exec('CREATE TABLE IF NOT EXISTS calls (id TEXT PRIMARY KEY, started_at INTEGER, model TEXT, status INTEGER, latency_ms REAL, input_tokens INTEGER, output_tokens INTEGER)');
const insert = db.prepare('INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?)');
type Row = [string, number, string, number, number, number, number];
let pending: Row[] = [];
const flush = () => {
  if (pending.length === 0) return;
  const rows = pending;
  pending = [];
  db.exec('BEGIN');
  for (const row of rows) insert.run(...row);
  db.exec('COMMIT');
};
const timer = setInterval(flush, 100);

const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const started = performance.now();
    const id = randomUUID();
    const client = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; messages: unknown[] };
    const body = JSON.stringify({ model: client.model, messages: client.messages });
    pool.request({ origin: upstream, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body }).then(
      async (answer) => {
        const parsed = (await answer.body.json()) as { choices: Array<{ message: { content: string }; finish_reason: string }>; usage: { prompt_tokens: number; completion_tokens: number } };
        const out = JSON.stringify({
          id: `chatcmpl-${id}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: client.model,
          choices: [{ index: 0, message: { role: 'assistant', content: parsed.choices[0]!.message.content }, finish_reason: parsed.choices[0]!.finish_reason }],
          usage: { prompt_tokens: parsed.usage.prompt_tokens, completion_tokens: parsed.usage.completion_tokens, total_tokens: parsed.usage.prompt_tokens + parsed.usage.completion_tokens },
        });
        res.writeHead(answer.statusCode, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(out)), 'x-request-id': id });
        res.end(out);
        pending.push([id, Date.now(), client.model, answer.statusCode, performance.now() - started, parsed.usage.prompt_tokens, parsed.usage.completion_tokens]);
      },
      (error: Error) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: error.message } }));
      },
    );
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  clearInterval(timer);
  flush();
  db.close();
  void pool.close();
});
