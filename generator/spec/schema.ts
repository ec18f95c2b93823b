// Checks a spec against spec/wirestate.schema.json and turns Ajv's errors into positioned,
// readable diagnostics (one per problem, not one per failed schema branch).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import type { Diagnostic } from './diagnostics.ts';
import { nodeAt, posAt, type SpecSource } from './source.ts';

export const schemaPath = fileURLToPath(new URL('../../spec/wirestate.schema.json', import.meta.url));

/**
 * The validator compiled ahead of time: the package's build writes it beside this module
 * (compiling the schema at every run would cost more than the rest of a `generate --check`).
 * The repository's sources have none and compile the schema as it is now.
 */
export const PRECOMPILED = 'schema.validate.cjs';

const options: Options = { allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true };

let validator: ValidateFunction | undefined;

function compile(): ValidateFunction {
  const precompiled = fileURLToPath(new URL(`./${PRECOMPILED}`, import.meta.url));
  validator ??= existsSync(precompiled) ? (require(precompiled) as ValidateFunction) : new (ajvClass())(options).compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
  return validator;
}

// Ajv loads only when there is no precompiled validator.
const require = createRequire(import.meta.url);
const ajvClass = (): typeof Ajv => (require('ajv') as { Ajv: typeof Ajv }).Ajv;

/** The validator as a CommonJS module, for the build to write as PRECOMPILED. */
export async function validatorModule(): Promise<string> {
  const standalone = await import('ajv/dist/standalone/index.js');
  const ajv = new (ajvClass())({ ...options, code: { source: true } });
  return (standalone.default.default ?? standalone.default)(ajv, ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8'))));
}

export function checkSchema(source: SpecSource): Diagnostic[] {
  const validate = compile();
  if (validate(source.data)) return [];
  return condense(validate.errors ?? []).map((e) => {
    const path = splitPointer(e.instancePath);
    const { key, at, message } = describe(e, path);
    // An object's own problems are shown at its name (its key in the parent mapping).
    const node = key ? nodeAt(source, [...path, key], true) : at === 'key' && path.length ? nodeAt(source, path, true) : nodeAt(source, path);
    return { ...posAt(source, node), message };
  });
}

function splitPointer(p: string): string[] {
  return p === '' ? [] : p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * A failed `anyOf` makes Ajv report every branch. Keep the errors of the branch the data was
 * meant for (those below the anyOf's place, or of another keyword than `type` at it); if none
 * is left, report the anyOf itself.
 */
function condense(errors: ErrorObject[]): ErrorObject[] {
  const anyOfAt = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const kept = errors.filter((e) => {
    if (e.keyword === 'anyOf') return false;
    if (e.propertyName !== undefined) return false; // a name's own error: its propertyNames error says it
    if (anyOfAt.has(e.instancePath) && e.keyword === 'type') return false;
    if (anyOfAt.has(e.instancePath) && e.keyword === 'pattern' && e.schemaPath.includes('/name/')) return false;
    return true;
  });
  for (const e of errors) {
    if (e.keyword !== 'anyOf') continue;
    const covered = kept.some((k) => k.instancePath === e.instancePath || k.instancePath.startsWith(e.instancePath + '/'));
    if (!covered) kept.push(e);
  }
  const seen = new Set<string>();
  return kept.filter((e) => {
    const id = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** What each anyOf in the schema accepts, keyed by its description. */
const anyOfExpectations: Record<string, string> = {
  'A target state name, one transition, or a list of guarded candidates tried in order.':
    'expected a target state name, a transition {target, guard|unless, actions}, or a list of transitions',
  'A name or a list of names.': 'expected a name or a list of names',
  'A doc string, an object with a doc, or nothing (a missing doc is a warning).': 'expected a doc string or {doc: ...}',
};

function describe(e: ErrorObject, path: string[]): { key?: string; at?: 'key'; message: string } {
  const where = path.length ? `'${path.join('.')}'` : 'the spec';
  switch (e.keyword) {
    case 'required':
      return { at: 'key', message: `${where} is missing the required key '${(e.params as { missingProperty: string }).missingProperty}'` };
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const allowed = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {}).filter((k) => k !== '$schema');
      return { key, message: `unknown key '${key}' in ${where}; expected one of: ${allowed.join(', ')}` };
    }
    case 'propertyNames':
      return { key: (e.params as { propertyName: string }).propertyName, message: `'${(e.params as { propertyName: string }).propertyName}' is not a valid name: use lower_snake_case starting with a letter` };
    case 'pattern':
      if (e.schemaPath.includes('/name/')) return { message: `${JSON.stringify(e.data)} is not a valid name: use lower_snake_case starting with a letter` };
      return { message: `${where} ${JSON.stringify(e.data)} does not match ${(e.params as { pattern: string }).pattern}` };
    case 'type':
      return { message: `${where} must be ${article((e.params as { type: string }).type)}` };
    case 'not':
      return { message: `a transition takes either 'guard' or 'unless', not both` };
    case 'anyOf': {
      const description = (e.parentSchema as { description?: string } | undefined)?.description ?? '';
      return { message: `${where}: ${anyOfExpectations[description] ?? e.message}` };
    }
    case 'minProperties':
    case 'minItems':
      return { message: `${where} must not be empty` };
    case 'minimum':
      return { message: `${where} must be at least ${(e.params as { limit: number }).limit}` };
    case 'maxLength':
      return { message: `${where} is longer than ${(e.params as { limit: number }).limit} characters` };
    case 'minLength':
      return { message: `${where} must not be empty` };
    default:
      return { message: `${where} ${e.message ?? 'is invalid'}` };
  }
}

function article(type: string): string {
  return type === 'object' ? 'a mapping' : type === 'array' ? 'a list' : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
