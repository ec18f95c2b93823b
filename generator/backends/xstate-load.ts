// Loads a generated XState module (TypeScript) where there is no TypeScript loader: in the
// package, in a user's CommonJS or ESM project. It is transpiled to CommonJS and run with this
// toolkit's own xstate as its only import, so the machine and the code that steps it share one
// xstate.
import * as xstate from 'xstate';

/** The exports of the generated module `source` (`file` names it in errors). */
export async function importXStateModule(source: string, file = 'the generated XState module'): Promise<Record<string, unknown>> {
  const { ts } = await import('ts-morph');
  const js = ts.transpileModule(source, { fileName: file, compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const exports: Record<string, unknown> = {};
  const require = (id: string) => {
    if (id !== 'xstate') throw new Error(`${file} imports '${id}': a generated machine imports only xstate; run \`npx wirestate generate\``);
    return xstate;
  };
  new Function('exports', 'require', js)(exports, require);
  return exports;
}
