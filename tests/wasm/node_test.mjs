// The WebAssembly engine in Node (Debian's nodejs or the machine's) against the native CLI:
//   node tests/wasm/node_test.mjs <quacktracks> <build/wasm> <fixtures dir> [corpus dir, else $QUACK_CORPUS]
// Files stream through emscripten's NODEFS (engine/wasm/js/quack-node.mjs). The checks are in
// compare.mjs. Exit 0 all passed, 1 a failure, 77 skipped (no WASM build).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compareWithNative } from './compare.mjs';

const [cli, wasmDir, fixtures, corpusArg] = process.argv.slice(2);
const corpus = corpusArg ?? process.env.QUACK_CORPUS;
if (!existsSync(join(wasmDir, 'quack_engine.wasm'))) {
  console.log('SKIP: no WASM build in', wasmDir, '(make wasm)');
  process.exit(77);
}
const { loadQuackEngine } = await import(new URL('../../engine/wasm/js/quack-node.mjs', import.meta.url));
const engine = await loadQuackEngine({ buildDir: wasmDir });
const runner = {
  label: `node ${process.version}`,
  master: (input, output, settings) => engine.master(input, output, settings),
  memoryBytes: () => engine.Module.HEAP8.buffer.byteLength,
};
const presets = (process.env.QUACK_WASM_PRESETS || 'streaming,loud,podcast,broadcast').split(',');
const result = await compareWithNative({ cli, fixtures, corpus, runner, presets });
engine.close();
process.exit(result.failures ? 1 : 0);
