// Preloaded into the server (NODE_OPTIONS=--require) by the process-fault tests: once the
// server has had time to start, raises the fault named by TEST_FAULT outside any request.
setTimeout(() => {
  if (process.env.TEST_FAULT === 'rejection') void Promise.reject(new Error('boom from the test'));
  else throw new Error('boom from the test');
}, Number(process.env.TEST_FAULT_DELAY_MS ?? 500)).unref();
