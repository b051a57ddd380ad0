// Drive the stock tus-js-client (Node) against the FieldVault upload endpoint.
// usage: node upload.js '<json options>'
//   {endpoint, uploadUrl?, token, file, metadata?, chunkSize?, abortAfterBytes?,
//    deferLength?, terminate?}
// Prints one JSON line: {"ok": true, "url": ..., "aborted": bool} or {"ok": false, "error": ...}.
'use strict';
const fs = require('fs');
const { PassThrough } = require('stream');
const tus = require('tus-js-client');

const options = JSON.parse(process.argv[2]);
const size = fs.statSync(options.file).size;
let aborted = false;

function done(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(result.ok ? 0 : 1);
}

// A file stream is re-opened by path (resumable). With a deferred length, tus-js-client 4
// announces a full chunk's Content-Length for the short last slice of a path-backed file
// and then hangs, so that case reads through a plain stream (buffered per chunk).
const source = options.deferLength
  ? fs.createReadStream(options.file).pipe(new PassThrough())
  : fs.createReadStream(options.file);

const upload = new tus.Upload(source, {
  endpoint: options.endpoint,
  uploadUrl: options.uploadUrl || null,
  headers: { Authorization: `Bearer ${options.token}` },
  metadata: options.metadata || {},
  uploadSize: options.deferLength ? undefined : size,
  uploadLengthDeferred: Boolean(options.deferLength),
  chunkSize: options.chunkSize || 4 * 1024 * 1024,
  retryDelays: [100, 500, 1000, 2000],
  removeFingerprintOnSuccess: true,
  onProgress(bytesUploaded) {
    if (options.abortAfterBytes && !aborted && bytesUploaded >= options.abortAfterBytes) {
      aborted = true;
      upload.abort(Boolean(options.terminate)).then(() => {
        done({ ok: true, aborted: true, url: upload.url, bytesUploaded });
      });
    }
  },
  onSuccess() {
    done({ ok: true, aborted: false, url: upload.url });
  },
  onError(error) {
    done({ ok: false, error: String(error), url: upload.url });
  },
});
upload.start();
