// The panel's build: one HTML shell + hashed files under assets/ (xtreamd
// serves assets/ as immutable, index.html as no-cache; src/panel/panel.h).
// `npm run dev` serves the sources with the admin API proxied to a running
// xtreamd (XTREAMD_URL, default http://127.0.0.1:8080).
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: false,
    // The panel is served by xtreamd only: no <link rel=modulepreload> polyfill.
    modulePreload: { polyfill: false },
    // hls.js and mpegts.js are lazy chunks far above the default warning.
    chunkSizeWarningLimit: 1024,
    reportCompressedSize: true,
  },
  server: {
    proxy: { '/api': process.env.XTREAMD_URL ?? 'http://127.0.0.1:8080' },
  },
});
