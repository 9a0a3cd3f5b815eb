import { expect, test } from 'vitest';
import { useTokenPak } from 'tokenpak/vitest';
import { isAppropriate } from '../src/legacy-moderation.ts';

test('a hard-coded https://api.openai.com call is answered by TokenPak', async () => {
  const tokenpak = useTokenPak();
  tokenpak.mock().setPatterns('gpt-4', { appropriate: 'yes' });

  expect(await isAppropriate('My printer is broken')).toBe(true);
  expect(tokenpak).toHaveCalledProvider('mock', 1);
  expect(tokenpak).toHaveReceivedPrompt('My printer is broken');
});
