#!/usr/bin/env node
// Signs requests with npm aws4 (an independent SigV4 implementation) for the differential test
// of our signer (tests/service/sigv4_test.cpp). Reads a JSON array of requests on stdin, writes
// a JSON array of {signature, signedHeaders, canonical} on stdout.
//   request: {method, host, path (encoded), query: [[name, value]...] (decoded),
//             headers: [[name, value]...], region, accessKeyId, secretAccessKey, amzDate,
//             payloadHash, presign: bool, expires}
'use strict';
const aws4 = require('aws4');
const querystring = require('querystring');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((r) => {
    const headers = { Host: r.host };
    for (const [k, v] of r.headers) headers[k] = v;
    const query = {};
    for (const [k, v] of r.query) query[k] = v;
    if (r.presign) {
      query['X-Amz-Date'] = r.amzDate;
      query['X-Amz-Expires'] = String(r.expires);
    } else {
      headers['X-Amz-Date'] = r.amzDate;
      headers['X-Amz-Content-Sha256'] = r.payloadHash;
    }
    const qs = querystring.stringify(query);
    const request = {
      method: r.method, host: r.host, service: 's3', region: r.region, headers,
      path: r.path + (qs ? '?' + qs : ''), signQuery: r.presign,
      // aws4 leaves Range out of the signature by default; S3 signs whatever is listed.
      extraHeadersToInclude: { range: true },
    };
    const signer = new aws4.RequestSigner(request, {
      accessKeyId: r.accessKeyId, secretAccessKey: r.secretAccessKey,
    });
    const canonical = signer.canonicalString(); // before sign() adds X-Amz-Signature
    signer.sign();
    let signature, signedHeaders;
    if (r.presign) {
      signature = signer.parsedPath.query['X-Amz-Signature'];
      signedHeaders = signer.parsedPath.query['X-Amz-SignedHeaders'];
    } else {
      const auth = request.headers.Authorization;
      signature = /Signature=([0-9a-f]+)/.exec(auth)[1];
      signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)[1];
    }
    return { signature, signedHeaders, canonical };
  });
  process.stdout.write(JSON.stringify(out));
});
