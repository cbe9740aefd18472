// The container's HEALTHCHECK: exit 0 when this instance's /health answers 200 within 2 s.
// Plain Node, so the image needs no curl.
import { loadConfig } from '../../config';

const { port } = loadConfig();
fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) })
  .then((response) => process.exit(response.status === 200 ? 0 : 1))
  .catch(() => process.exit(1));
