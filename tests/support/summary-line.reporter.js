// Adds one plain "N passed, N failed, N skipped" line to the run's output, the form any CI log
// reader counts tests by (Jest's own summary says "N passed, N total"), and, above it, every
// reason a test file gave for skipping tests (its "SKIPPED ..." warnings): in a run of many
// files, Jest does not show the console output of a file whose tests were all skipped.
const { relative } = require('node:path');

class SummaryLineReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.skips = [];
  }

  onTestResult(_test, result) {
    for (const entry of result.console ?? []) {
      if (/^\s*(PostgreSQL tests will be )?SKIPPED/.test(entry.message)) this.skips.push(`${relative(this.rootDir, result.testFilePath)}: ${entry.message.trim()}`);
    }
  }

  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = results;
    for (const skip of this.skips) process.stderr.write(`${skip}\n`);
    process.stderr.write(`tests: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests + numTodoTests} skipped\n`);
  }
}

module.exports = SummaryLineReporter;
