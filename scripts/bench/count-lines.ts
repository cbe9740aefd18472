// The floor for the training benchmark: a process that only reads the file and counts its lines.
// Usage: node dist/scripts/bench/count-lines.js FILE
import { closeSync, openSync, readSync } from 'node:fs';

const path = process.argv[2];
if (!path) {
  console.error('usage: count-lines FILE');
  process.exit(2);
}
const fd = openSync(path, 'r');
const buffer = Buffer.allocUnsafe(1 << 20);
let lines = 0;
for (let bytesRead = readSync(fd, buffer); bytesRead > 0; bytesRead = readSync(fd, buffer)) {
  const chunk = buffer.subarray(0, bytesRead);
  for (let position = chunk.indexOf(10); position >= 0; position = chunk.indexOf(10, position + 1)) lines++;
}
closeSync(fd);
console.log(JSON.stringify({ lines }));
