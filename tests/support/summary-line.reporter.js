// Ends the run with one plain "N passed, N failed, N skipped" line that any CI log reader understands,
// on stderr after the default reporter's summary so it really is the last line.
class SummaryLineReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = results;
    process.stderr.write(`tests: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests + numTodoTests} skipped\n`);
  }
}

module.exports = SummaryLineReporter;
