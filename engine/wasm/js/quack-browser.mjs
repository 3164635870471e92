// The WebAssembly engine where there is no file system to mount (a page, a Web Worker, a
// Cloudflare Worker): the input is handed over as bytes, lives in emscripten's in-memory file
// system (MEMFS) for the call, and the master comes back as bytes. The engine's spools are in
// MEMFS too, so memory grows with the track (engine/wasm/README.md, "Memory").
//   import createQuackEngine from './quack_engine.mjs';
//   const engine = await loadQuackEngine(createQuackEngine, { wasmBinary });   // or { wasmModule }
//   const { report, output } = engine.master(bytes, 'song.wav', { preset: 'streaming' });

/// Error thrown for {"ok": false}: .code is the engine's stable id (e.g. "corrupt_file").
export class QuackError extends Error {
  constructor(e) {
    super(e.message);
    this.name = 'QuackError';
    this.code = e.code;
    this.exitCode = e.exit_code;
    this.httpStatus = e.http_status;
  }
}

/// `createQuackEngine`: the default export of quack_engine.mjs. Exactly one of `wasmBinary`
/// (bytes: an ArrayBuffer or Uint8Array) or `wasmModule` (a compiled WebAssembly.Module, as a
/// Workers binding gives it) is required: emscripten 3.1.6's own loader cannot fetch the file in
/// every environment, so the caller always supplies it.
export async function loadQuackEngine(createQuackEngine, { wasmBinary, wasmModule, onProgress } = {}) {
  const options = {
    onProgress: (stage, fraction) => onProgress?.(stage, fraction),
    print: () => {},
    printErr: () => {},
  };
  if (wasmModule) {
    options.instantiateWasm = (imports, done) => {
      WebAssembly.instantiate(wasmModule, imports).then((instance) => done(instance, wasmModule));
      return {};
    };
  } else if (wasmBinary) {
    options.wasmBinary = wasmBinary instanceof Uint8Array ? wasmBinary : new Uint8Array(wasmBinary);
  } else {
    throw new TypeError('loadQuackEngine needs wasmBinary or wasmModule');
  }
  const Module = await createQuackEngine(options);
  const { FS } = Module;
  for (const d of ['/in', '/out']) FS.mkdir(d);

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
  // The engine checks the name's extension against the content (format_mismatch), so the
  // input keeps its base name; the output's extension is the format's.
  const baseName = (name) => String(name).split(/[\\/]/).pop().replace(/^\.+/, '') || 'input';
  const unlink = (p) => { try { FS.unlink(p); } catch { /* not created */ } };
  const extensionOf = (format) => (String(format ?? 'wav24').startsWith('flac') ? 'flac' : 'wav');

  return {
    Module,
    /// Masters `bytes` (the file called `name`). Returns { report, output: Uint8Array }.
    master(bytes, name, settings = {}) {
      const input = '/in/' + baseName(name);
      const output = '/out/master.' + extensionOf(settings.format);
      FS.writeFile(input, bytes);
      try {
        const report = call('quack_master', input, output, JSON.stringify(settings));
        return { report, output: FS.readFile(output) };
      } finally {
        unlink(input);
        unlink(output);
      }
    },
    analyze(bytes, name) {
      const input = '/in/' + baseName(name);
      FS.writeFile(input, bytes);
      try {
        return call('quack_analyze', input);
      } finally {
        unlink(input);
      }
    },
    errors: () => call('quack_errors'),
    /// Bytes of WebAssembly memory now (it only grows: after a call, that call's peak).
    memoryBytes: () => Module.HEAP8.buffer.byteLength,
  };
}
