/** esbuild bundles the page's stylesheet from an import; TypeScript only needs to know it exists. */
declare module '*.css';
