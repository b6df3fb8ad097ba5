/**
 * Builds packages/client/dist: ESM and declarations for src/, and a self-contained
 * `app-router.d.ts` in place of the workspace's re-export of the server's router. Then proves
 * the result: the rebuilt router infers exactly the server's inputs, outputs and error shape,
 * and no declaration file points anywhere but `@trpc/client` and `@trpc/server`.
 *
 * TypeScript 7 has no stable compiler API yet, so this uses TypeScript 5.9 (`typescript5`).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TRPC_MAX_BATCH_ITEMS } from '@touch-crm/contract';
import ts from 'typescript5';
import { declareRouter } from './router-declarations.ts';

const packageDir = path.resolve(import.meta.dirname, '..');
const repoRoot = path.resolve(packageDir, '../..');
const srcDir = path.join(packageDir, 'src');
const distDir = path.join(packageDir, 'dist');
const routerModule = path.join(srcDir, 'app-router.ts');
/** Re-exports the contract's limits in the workspace; the build writes them as literals. */
const limitsModule = 'limits.ts';
/** Exists only in memory: compares the built router with the server's. */
const fidelityModule = path.join(srcDir, 'fidelity-check.ts');

const allowedImports = /^(\.{1,2}\/|@trpc\/(client|server)(\/|$))/;
const forbiddenWords = ['@touch-crm', 'drizzle', 'postgres', 'pg-boss', 'zod', 'hono', 'jose'];

function compilerOptions(): ts.CompilerOptions {
  const base = ts.readConfigFile(path.join(repoRoot, 'tsconfig.base.json'), ts.sys.readFile);
  const { options, errors } = ts.convertCompilerOptionsFromJson(base.config.compilerOptions, repoRoot);
  if (base.error || errors.length) throw new Error(report([base.error, ...errors].filter((d) => d !== undefined)));
  // ES2022 output: a published client should not need the newest runtime.
  return {
    ...options,
    noEmit: false,
    declaration: true,
    rewriteRelativeImportExtensions: true,
    target: ts.ScriptTarget.ES2022,
  };
}

function report(diagnostics: readonly ts.Diagnostic[]): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => repoRoot,
    getNewLine: () => '\n',
  });
}

function sourceFile(program: ts.Program, fileName: string): ts.SourceFile {
  const file = program.getSourceFile(fileName);
  if (!file) throw new Error(`${fileName} is not in the program`);
  return file;
}

/** JS and declarations for every module of src/ except the router and limits re-exports. */
function emitSources(program: ts.Program) {
  const files = readdirSync(srcDir)
    .filter((name) => name.endsWith('.ts') && name !== 'app-router.ts' && name !== limitsModule)
    .map((name) => sourceFile(program, path.join(srcDir, name)));
  const diagnostics = files.flatMap((file) => ts.getPreEmitDiagnostics(program, file));
  if (diagnostics.length) throw new Error(report(diagnostics));
  mkdirSync(distDir, { recursive: true });
  // Declaration emit keeps our `./x.ts` specifiers (only JS gets them rewritten); dist has `.js`.
  const write = (fileName: string, text: string) =>
    writeFileSync(path.join(distDir, path.basename(fileName)), text.replace(/(from '\.\/[\w-]+)\.ts'/g, "$1.js'"));
  for (const file of files) program.emit(file, write);
}

function writeLimits() {
  const doc = '/** Most calls one batch request carries; the server refuses larger batches. */\n';
  writeFileSync(
    path.join(distDir, 'limits.js'),
    `${doc}export const TRPC_MAX_BATCH_ITEMS = ${TRPC_MAX_BATCH_ITEMS};\n`,
  );
  writeFileSync(
    path.join(distDir, 'limits.d.ts'),
    `${doc}export declare const TRPC_MAX_BATCH_ITEMS = ${TRPC_MAX_BATCH_ITEMS};\n`,
  );
}

function routerType(program: ts.Program): ts.Type {
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(sourceFile(program, routerModule));
  const exported = module && checker.getExportsOfModule(module).find((symbol) => symbol.name === 'AppRouter');
  if (!exported) throw new Error(`${routerModule} does not export AppRouter`);
  return checker.getDeclaredTypeOfSymbol(checker.getAliasedSymbol(exported));
}

/** Type-level equality: identical types only, so a widened or dropped field fails. */
function checkFidelity(options: ts.CompilerOptions, oldProgram: ts.Program, procedures: string[]) {
  const lines = [
    "import type { inferRouterError, inferRouterInputs, inferRouterOutputs } from '@trpc/server';",
    "import type { AppRouter as Built } from '../dist/app-router.js';",
    "import type { AppRouter as Source } from './app-router.ts';",
    'type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;',
  ];
  const labels = new Map<number, string>();
  const check = (label: string, source: string, built: string) => {
    labels.set(lines.length, label);
    lines.push(`export const check${lines.length}: Equal<${source}, ${built}> = true;`);
  };
  check('error shape', 'inferRouterError<Source>', 'inferRouterError<Built>');
  for (const procedure of procedures) {
    const at = procedure
      .split('.')
      .map((key) => `[${JSON.stringify(key)}]`)
      .join('');
    check(`${procedure} input`, `inferRouterInputs<Source>${at}`, `inferRouterInputs<Built>${at}`);
    check(`${procedure} output`, `inferRouterOutputs<Source>${at}`, `inferRouterOutputs<Built>${at}`);
  }
  const text = lines.join('\n');

  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (fileName, version, ...rest) =>
    fileName === fidelityModule
      ? ts.createSourceFile(fileName, text, version)
      : getSourceFile(fileName, version, ...rest);
  host.fileExists = (fileName) => fileName === fidelityModule || fileExists(fileName);
  host.readFile = (fileName) => (fileName === fidelityModule ? text : readFile(fileName));
  const program = ts.createProgram({ rootNames: [fidelityModule], options, host, oldProgram });
  const diagnostics = ts.getPreEmitDiagnostics(program, sourceFile(program, fidelityModule));
  if (diagnostics.length) {
    const differing = diagnostics.map((d) => {
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
      return labels.get(line) ?? report([d]);
    });
    throw new Error(`The built router differs from the server's:\n  ${differing.join('\n  ')}`);
  }
}

/** The package must be usable with only @trpc/client and @trpc/server installed. */
function checkSelfContained() {
  for (const name of readdirSync(distDir).filter((file) => file.endsWith('.ts') || file.endsWith('.js'))) {
    const text = readFileSync(path.join(distDir, name), 'utf8');
    for (const [, specifier = ''] of text.matchAll(/(?:from|import\(|reference types=)\s*['"]([^'"]+)['"]/g))
      if (!allowedImports.test(specifier)) throw new Error(`dist/${name} imports ${specifier}`);
    for (const word of forbiddenWords)
      if (text.toLowerCase().includes(word)) throw new Error(`dist/${name} mentions ${word}`);
  }
}

const started = performance.now();
rmSync(distDir, { recursive: true, force: true });
const options = compilerOptions();
const program = ts.createProgram({ rootNames: [path.join(srcDir, 'index.ts')], options });
emitSources(program);
writeLimits();
const router = declareRouter(program.getTypeChecker(), routerType(program));
writeFileSync(path.join(distDir, 'app-router.d.ts'), router.text);
checkFidelity(options, program, router.procedures);
checkSelfContained();
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`@touch-crm/client built to dist/ in ${seconds}s: ${router.procedures.length} procedures`);
