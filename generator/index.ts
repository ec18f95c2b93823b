// The package's JavaScript API (import from 'wirestate'): the generator as a library, the
// project configuration, and the paths of the JSON Schemas the package ships. The CLI is built
// on these; everything else under dist/ is internal.
export { version } from './version.ts';
export { build, compileProject, compare, isFresh, writeOutputs, managedDirs, specFiles, type Build, type CompiledMachine, type Staleness } from './pipeline.ts';
export { SpecError, formatDiagnostic, type Diagnostic } from './spec/diagnostics.ts';
export { CONFIG_FILE, ConfigError, DEFAULTS, configSchemaPath, loadLayout, specSchemaPath, specSchemaReference, type Layout } from './config/config.ts';
export { decodeTrace, type DecodedStep, type DecodedTrace } from './trace/decode.ts';
export { TraceError, parseTrace, type Trace } from './trace/format.mjs';
