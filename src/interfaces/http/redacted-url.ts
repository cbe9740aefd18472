// Query parameters of our own whose values are safe and useful in a log line; every other
// value (an `access_token` a client put in the URL, say) is logged as ***.
const SHOWN_PARAMETERS = new Set(['metric', 'limit', 'before', 'value']);

// A path or a parameter name may be kilobytes long (up to the 16 KB of headers): a log line
// shows its start and says how long it was.
const SHOWN_CHARACTERS = 80;
// Many short parameters still add up: the whole target is cut too.
const SHOWN_URL_CHARACTERS = 1024;

function cut(text: string, shown: number): string {
  return text.length <= shown ? text : `${text.slice(0, shown)}…(${text.length} characters)`;
}

/**
 * The request target for a log line: the path, and each query parameter with its value
 * redacted unless it is one of ours; every part cut to a bounded length.
 */
export function redactedUrl(url: string): string {
  const question = url.indexOf('?');
  if (question === -1) return cut(url, SHOWN_CHARACTERS);
  const query = url
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      // A bare `?abc123` may be the secret itself.
      if (equals === -1) return pair === '' || SHOWN_PARAMETERS.has(pair) ? pair : '***';
      const name = pair.slice(0, equals);
      return SHOWN_PARAMETERS.has(name) ? cut(pair, SHOWN_CHARACTERS) : `${cut(name, SHOWN_CHARACTERS)}=***`;
    })
    .join('&');
  return cut(`${cut(url.slice(0, question), SHOWN_CHARACTERS)}?${query}`, SHOWN_URL_CHARACTERS);
}
