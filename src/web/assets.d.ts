/** esbuild bundles the page's stylesheet from an import; TypeScript only needs to know it exists. */
declare module '*.css';

/**
 * Files the page ships beside its script (esbuild's `file` loader copies them into the bundle's folder): the import
 * is the file's path relative to the script, to resolve against `import.meta.url`.
 */
declare module '*.ogg' {
  const path: string;
  export default path;
}
