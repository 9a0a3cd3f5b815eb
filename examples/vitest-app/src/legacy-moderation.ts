/**
 * Old code that calls OpenAI's public host directly with fetch. In tests,
 * TokenPak's plugin intercepts fetch calls to https://api.openai.com and answers
 * from the test's TokenPak, so even this makes no real API call.
 */
export async function isAppropriate(text: string): Promise<boolean> {
  const response = await fetch('https://api.openai.com/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${process.env.OPENAI_API_KEY}` },
    body: JSON.stringify({
      model: 'gpt-4',
      messages: [{ role: 'user', content: `Answer "yes" or "no": is this appropriate for a support ticket? ${text}` }],
    }),
  });
  if (!response.ok) throw new Error(`moderation failed with HTTP ${response.status}`);
  const completion = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  return completion.choices[0]!.message.content.trim().toLowerCase().startsWith('yes');
}
