// SPDX-License-Identifier: BSD-2-Clause
// Vite builds src/ into ../dist/: index.html and assets/app.js,
// assets/app.css under fixed names (the module installs exactly those
// files, modules/webui/local.mk), no source maps, no inline scripts (the
// page's Content-Security-Policy allows only 'self').
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2020',
    modulePreload: false,
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    chunkSizeWarningLimit: 2048, // elkjs is most of it
    rollupOptions: {
      output: {
        entryFileNames: 'assets/app.js',
        chunkFileNames: 'assets/app-[name].js',
        assetFileNames: (info) => (info.name && info.name.endsWith('.css') ? 'assets/app.css' : 'assets/[name][extname]'),
        inlineDynamicImports: true,
      },
    },
  },
});
