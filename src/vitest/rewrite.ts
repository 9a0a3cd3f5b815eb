/** The same request at another path (and origin): method, headers, body stream and abort signal carry over. */
export function rewrite(request: Request, pathAndQuery: string, origin = new URL(request.url).origin): Request {
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.body !== null;
  return new Request(new URL(pathAndQuery, origin), {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    ...(hasBody ? { body: request.body, duplex: 'half' } : {}),
  } as RequestInit);
}
