// The WebAssembly engine in Node: files are streamed through emscripten's NODEFS (the host's
// file system mounted at /host), and the engine's spools go to a private directory under the
// host's temporary directory (mounted at /tmp), so memory stays flat whatever the track length.
//   const engine = await loadQuackEngine();
//   const { report } = engine.master('/in.wav', '/out.wav', { preset: 'streaming' });
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));

/// Error thrown for {"ok": false}: .code is the engine's stable id (e.g. "corrupt_file").
export class QuackError extends Error {
  constructor(e) {
    super(e.message);
    this.code = e.code;
    this.exitCode = e.exit_code;
    this.httpStatus = e.http_status;
  }
}

export async function loadQuackEngine({ buildDir = process.env.QUACK_WASM_DIR || resolve(here, '../../../build/wasm'), onProgress } = {}) {
  // emscripten 3.1.6's ES6 output uses require() and __dirname for Node, which an ES module
  // does not have: give it both (the wasm bytes are passed in, so __dirname is never used to
  // find a file).
  globalThis.require ??= createRequire(import.meta.url);
  globalThis.__dirname ??= buildDir;
  const { default: createQuackEngine } = await import(pathToFileURL(join(buildDir, 'quack_engine.mjs')).href);
  const Module = await createQuackEngine({
    // 3.1.6's loader would fetch() a file path, which Node's fetch refuses: hand it the bytes.
    wasmBinary: readFileSync(join(buildDir, 'quack_engine.wasm')),
    onProgress: (stage, fraction) => onProgress?.(stage, fraction),
    print: () => {},
    printErr: () => {},
  });
  const { FS } = Module;
  const scratch = mkdtempSync(join(tmpdir(), 'quack-wasm-'));
  FS.mkdir('/host');
  FS.mount(FS.filesystems.NODEFS, { root: '/' }, '/host');
  FS.mount(FS.filesystems.NODEFS, { root: scratch }, '/tmp');

  const call = (name, ...args) => {
    const ptrs = args.map((a) => {
      const n = Module.lengthBytesUTF8(a) + 1;
      const p = Module._malloc(n);
      Module.stringToUTF8(a, p, n);
      return p;
    });
    const out = Module['_' + name](...ptrs);
    ptrs.forEach((p) => Module._free(p));
    const json = JSON.parse(Module.UTF8ToString(out));
    Module._quack_free(out);
    if (!json.ok) throw new QuackError(json.error);
    return json.report;
  };
  const host = (p) => '/host' + resolve(p);
  return {
    Module,
    master: (input, output, settings = {}) => call('quack_master', host(input), host(output), JSON.stringify(settings)),
    analyze: (input) => call('quack_analyze', host(input)),
    errors: () => call('quack_errors'),
    close: () => rmSync(scratch, { recursive: true, force: true }),
  };
}
