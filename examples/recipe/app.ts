/**
 * The recipe's application code, in TypeScript: one request to the proxy.
 * It is the same in development (mock) and production (real providers); only
 * the proxy's config changes.
 *
 *   node examples/recipe/app.ts "Debug my code"
 */
const PROXY_URL = process.env.TOKENPAK_URL ?? 'http://localhost:8000';

export async function getAiResponse(prompt: string): Promise<string> {
  const response = await fetch(`${PROXY_URL}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: prompt }] }),
  });
  const body = (await response.json()) as { content?: string; error?: { message: string } };
  if (!response.ok) throw new Error(`TokenPak answered ${response.status}: ${body.error?.message ?? 'unknown error'}`);
  return body.content!;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await getAiResponse(process.argv[2] ?? 'Debug my code'));
}
