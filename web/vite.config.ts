import { defineConfig } from 'vite';

// The service serves dist/ under a strict Content-Security-Policy (default-src 'self'), so the
// build must not emit inline scripts or styles: no module-preload polyfill (it is injected
// inline-free but unneeded in evergreen browsers) and no assets inlined as data: URIs.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
});
