// Query parameters of our own whose values are safe and useful in a log line; every other
// value (an `access_token` a client put in the URL, say) is logged as ***.
const SHOWN_PARAMETERS = new Set(['metric', 'limit', 'value']);

/** The request target for a log line: the path, and each query parameter with its value redacted unless it is one of ours. */
export function redactedUrl(url: string): string {
  const question = url.indexOf('?');
  if (question === -1) return url;
  const query = url
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      // A bare `?abc123` may be the secret itself.
      if (equals === -1) return pair === '' || SHOWN_PARAMETERS.has(pair) ? pair : '***';
      const name = pair.slice(0, equals);
      return SHOWN_PARAMETERS.has(name) ? pair : `${name}=***`;
    })
    .join('&');
  return `${url.slice(0, question)}?${query}`;
}
