// The WebAssembly engine in Chromium (Debian's, driven by web/'s Playwright) against the native
// CLI, with the checks of compare.mjs:
//   node tests/wasm/browser_test.mjs <quacktracks> <build/wasm> <fixtures dir> [corpus dir, else $QUACK_CORPUS]
// A loopback server (free port) serves the engine and a blank page; the page fetches each
// input, masters it in the page's WebAssembly (engine/wasm/js/quack-browser.mjs, MEMFS) and
// posts the master back, which the server writes where the comparison reads it.
// Exit 0 all passed, 1 a failure, 77 skipped (no WASM build, no Chromium or no web/node_modules).
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { existsSync, createReadStream, createWriteStream, statSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareWithNative } from './compare.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const [cli, wasmDirArg, fixtures, corpusArg] = process.argv.slice(2);
const wasmDir = resolve(wasmDirArg);
const corpus = corpusArg ?? process.env.QUACK_CORPUS;
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const skip = (why) => { console.log('SKIP:', why); process.exit(77); };
if (!existsSync(join(wasmDir, 'quack_engine.wasm'))) skip(`no WASM build in ${wasmDir} (make wasm)`);
if (!existsSync(chromiumPath)) skip(`no Chromium at ${chromiumPath} (apt-get install chromium)`);
if (!existsSync(join(root, 'web/node_modules/playwright-core'))) skip('web/node_modules is missing (make web)');
const { chromium } = createRequire(join(root, 'web/package.json'))('playwright-core');

// Routes: the page, the engine's two files, the browser loader, inputs by a token the test
// registered (no path from the page is trusted), and outputs by token.
const served = new Map(); // token -> path to read
const expected = new Map(); // token -> { path, done(resolve) }
let nextToken = 0;
const files = {
  '/quack_engine.mjs': [join(wasmDir, 'quack_engine.mjs'), 'text/javascript'],
  '/quack_engine.wasm': [join(wasmDir, 'quack_engine.wasm'), 'application/wasm'],
  '/quack-browser.mjs': [join(root, 'engine/wasm/js/quack-browser.mjs'), 'text/javascript'],
};
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>quack wasm test</title>');
  } else if (files[url.pathname]) {
    const [path, type] = files[url.pathname];
    res.writeHead(200, { 'content-type': type, 'content-length': statSync(path).size });
    createReadStream(path).pipe(res);
  } else if (url.pathname.startsWith('/in/') && served.has(url.pathname.slice(4))) {
    const path = served.get(url.pathname.slice(4));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(path).size });
    createReadStream(path).pipe(res);
  } else if (req.method === 'POST' && url.pathname.startsWith('/out/') && expected.has(url.pathname.slice(5))) {
    const e = expected.get(url.pathname.slice(5));
    const out = createWriteStream(e.path);
    req.pipe(out);
    out.on('finish', () => { res.writeHead(204).end(); e.done(); });
  } else {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({ executablePath: chromiumPath });
let status = 1;
try {
  const page = await browser.newPage();
  await page.goto(base + '/');
  const version = browser.version();
  await page.evaluate(async () => {
    const { loadQuackEngine } = await import('/quack-browser.mjs');
    const { default: createQuackEngine } = await import('/quack_engine.mjs');
    const wasmBinary = await (await fetch('/quack_engine.wasm')).arrayBuffer();
    window.engine = await loadQuackEngine(createQuackEngine, { wasmBinary });
  });
  const runner = {
    label: `chromium ${version}`,
    async master(input, output, settings) {
      const token = String(nextToken++);
      served.set(token, input);
      let written;
      const arrived = new Promise((ok) => { written = ok; });
      expected.set(token, { path: output, done: written });
      const name = input.split('/').pop();
      const r = await page.evaluate(async ({ token, name, settings }) => {
        const bytes = new Uint8Array(await (await fetch('/in/' + token)).arrayBuffer());
        try {
          const { report, output } = window.engine.master(bytes, name, settings);
          await fetch('/out/' + token, { method: 'POST', body: output });
          return { ok: true, report };
        } catch (e) {
          if (e?.name !== 'QuackError') throw e;
          return { ok: false, code: e.code, message: e.message };
        }
      }, { token, name, settings });
      served.delete(token);
      if (!r.ok) {
        expected.delete(token);
        throw Object.assign(new Error(r.message), { code: r.code });
      }
      await arrived;
      expected.delete(token);
      return r.report;
    },
    memoryBytes: () => lastMemory,
  };
  let lastMemory = 0;
  const master = runner.master;
  runner.master = async (...a) => {
    try { return await master(...a); } finally { lastMemory = await page.evaluate(() => window.engine.memoryBytes()); }
  };
  const presets = (process.env.QUACK_WASM_PRESETS || 'streaming,loud,podcast,broadcast').split(',');
  const result = await compareWithNative({ cli, fixtures, corpus, runner, presets });
  status = result.failures ? 1 : 0;
} finally {
  await browser.close();
  server.close();
}
process.exit(status);
