// Adds one plain "N passed, N failed, N skipped" line to the run's output, the form any CI log
// reader counts tests by (Jest's own summary says "N passed, N total").
class SummaryLineReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = results;
    process.stderr.write(`tests: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests + numTodoTests} skipped\n`);
  }
}

module.exports = SummaryLineReporter;
