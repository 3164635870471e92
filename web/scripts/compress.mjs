// After `vite build`: writes a brotli (.br) and a gzip (.gz) copy beside every text asset in
// dist/, so `quacktracks serve` can send them precompressed (Accept-Encoding) without
// compressing on each request. Node's own zlib: no extra package.
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../dist/', import.meta.url).pathname;
const compressible = /\.(html|js|mjs|css|json|map|svg|txt|webmanifest|xml|wasm)$/;
let files = 0, before = 0, after = 0;
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) { walk(path); continue; }
    if (!compressible.test(name)) continue;
    const data = readFileSync(path);
    if (data.length < 1024) continue; // not worth a round of decoding
    const br = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
    const gz = gzipSync(data, { level: 9 });
    if (br.length < data.length) writeFileSync(`${path}.br`, br);
    if (gz.length < data.length) writeFileSync(`${path}.gz`, gz);
    files += 1; before += data.length; after += br.length;
  }
};
walk(root);
console.log(`compress: ${files} files, ${before} bytes -> ${after} bytes (brotli)`);
