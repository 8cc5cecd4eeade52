// No @vitejs/plugin-react: vite's built-in esbuild compiles the JSX.
import { defineConfig } from "vite";

export default defineConfig({
  esbuild: { jsx: "automatic" },
  define: {
    __SDK_URL__: JSON.stringify(process.env.BENCH_SDK_URL || "http://127.0.0.1:8787/v2/browser-sdk.js"),
  },
  build: {
    outDir: process.env.BENCH_REACT_OUT || "../dist/react",
    emptyOutDir: true,
  },
});
