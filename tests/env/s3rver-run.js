#!/usr/bin/env node
// Runs s3rver (an S3-protocol server) on 127.0.0.1 with a port the kernel picks, for the tests.
//   node s3rver-run.js --dir DIR --bucket NAME --endpoint-file FILE [--watch-pid PID]
// Writes "http://127.0.0.1:PORT" to FILE once the bucket exists (atomically: temp + rename).
// With --watch-pid it exits when that process is gone, so a crashed test leaves no server.
'use strict';
const fs = require('fs');
const S3rver = require('s3rver');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const k of ['dir', 'bucket', 'endpoint-file']) {
  if (!args[k]) { console.error(`s3rver-run: --${k} is required`); process.exit(2); }
}

const server = new S3rver({
  address: '127.0.0.1', port: 0, silent: true, directory: args.dir,
  configureBuckets: [{ name: args.bucket }],
});
server.run().then(({ address, port }) => {
  const tmp = args['endpoint-file'] + '.tmp';
  fs.writeFileSync(tmp, `http://${address}:${port}\n`);
  fs.renameSync(tmp, args['endpoint-file']);
}, (err) => { console.error(`s3rver-run: ${err.message}`); process.exit(1); });

const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (args['watch-pid']) {
  const pid = Number(args['watch-pid']);
  setInterval(() => {
    try { process.kill(pid, 0); } catch { stop(); }
  }, 500).unref();
}
