// Firmware features: a static check that MicroPython code uses nothing the ESP8266_GENERIC
// firmware leaves out (str/bytes.partition, compile(), math.inf, ...). The list, with the
// firmware option behind each entry, is esp8266-generic.json (from ports/esp8266/mpconfigport.h).
//
// The check reads tokens (strings and comments skipped) and looks for: methods by name
// (`.partition(`, whatever the object: the firmware has no type with them), builtins by name
// (unless the module defines the name itself), three-argument pow(), imaginary literals,
// attributes of the modules concerned (through any import alias, `umath` as `math`, and
// `from math import inf`), __setattr__/__delattr__ overrides, and attributes assigned to a
// function the module defines (`f.x = 1`).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export interface MissingFeature {
  /** The firmware's configuration option that leaves it out. */
  option: string;
  what: string;
  methods?: string[];
  builtins?: string[];
  defines?: string[];
  module?: string;
  attrs?: string[];
  pow3?: boolean;
  imaginary?: boolean;
  functionAttributes?: boolean;
}

export interface FirmwareFeatures {
  firmware: string;
  source: string;
  missing: MissingFeature[];
}

/** What ESP8266_GENERIC lacks (esp8266-generic.json). */
export const ESP8266_GENERIC: FirmwareFeatures = JSON.parse(readFileSync(new URL('./esp8266-generic.json', import.meta.url), 'utf8'));

export interface FirmwareFinding {
  file: string;
  line: number;
  /** What the code uses, e.g. "bytes/str .partition()". */
  use: string;
  feature: MissingFeature;
}

interface Token {
  kind: 'name' | 'number' | 'op' | 'string';
  text: string;
  line: number;
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /(?:0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?)/y;
const STRING_START = /(?:[rRbBuUfF]{1,2})?('''|"""|'|")/y;
const OPS = ['**=', '//=', '>>=', '<<=', '->', '**', '//', '<<', '>>', '<=', '>=', '==', '!=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '@=', ':='];

/** Python tokens of the source, without strings' contents, comments and layout. */
function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\\' || c === '\f') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    STRING_START.lastIndex = i;
    const s = STRING_START.exec(src);
    if (s && (s[0].length > 1 || c === "'" || c === '"')) {
      const quote = s[1] as string;
      const start = line;
      let j = i + s[0].length;
      const raw = /[rR]/.test(s[0].slice(0, -quote.length));
      while (j < src.length && !src.startsWith(quote, j)) {
        if (src[j] === '\\' && !raw) j++;
        else if (src[j] === '\\') j++; // a raw string still cannot end in an escaped quote
        if (src[j] === '\n') line++;
        j++;
      }
      out.push({ kind: 'string', text: '', line: start });
      i = j + quote.length;
      continue;
    }
    NAME.lastIndex = i;
    const n = NAME.exec(src);
    if (n) {
      out.push({ kind: 'name', text: n[0], line });
      i += n[0].length;
      continue;
    }
    NUMBER.lastIndex = i;
    const num = /[0-9.]/.test(c) ? NUMBER.exec(src) : null;
    if (num && num[0] !== '.') {
      out.push({ kind: 'number', text: num[0], line });
      i += num[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i)) ?? c;
    out.push({ kind: 'op', text: op, line });
    i += op.length;
  }
  return out;
}

/** `umath` is `math` on MicroPython: the u-prefixed names are the same modules. */
const canonical = (module: string) => (module.startsWith('u') && ['umath', 'ubinascii', 'urandom', 'usys'].includes(module) ? module.slice(1) : module);

/** Findings for one Python source against `features` (default: ESP8266_GENERIC). */
export function checkFirmwareSource(file: string, src: string, features: FirmwareFeatures = ESP8266_GENERIC): FirmwareFinding[] {
  const t = tokenize(src);
  const findings: FirmwareFinding[] = [];
  const add = (line: number, use: string, feature: MissingFeature) => findings.push({ file, line, use, feature });
  const at = (k: number) => t[k] ?? { kind: 'op', text: '', line: 0 };

  // Names the module defines or binds itself: a builtin of the same name is then not the builtin.
  const own = new Set<string>();
  const functions = new Set<string>();
  const assigned = new Set<string>();
  const aliases = new Map<string, string>(); // local name -> module
  const imported = new Map<string, { module: string; line: number }>(); // local name -> attr's module
  for (let k = 0; k < t.length; k++) {
    const tok = at(k);
    if (tok.kind !== 'name') continue;
    if ((tok.text === 'def' || tok.text === 'class') && at(k + 1).kind === 'name') {
      own.add(at(k + 1).text);
      if (tok.text === 'def') functions.add(at(k + 1).text);
    } else if (at(k + 1).text === '=' && at(k - 1).text !== '.' && at(k - 1).text !== '(' && at(k - 1).text !== ',') {
      own.add(tok.text);
      assigned.add(tok.text);
    } else if (tok.text === 'import' && at(k - 2).text !== 'from') {
      // import a.b, c as d
      let j = k + 1;
      while (at(j).kind === 'name') {
        let dotted = at(j).text;
        j++;
        while (at(j).text === '.' && at(j + 1).kind === 'name') {
          dotted += '.' + at(j + 1).text;
          j += 2;
        }
        let local = dotted.split('.')[0] as string;
        if (at(j).text === 'as') {
          local = at(j + 1).text;
          j += 2;
        } else dotted = local;
        aliases.set(local, canonical(dotted));
        own.add(local);
        if (at(j).text !== ',') break;
        j++;
      }
    } else if (tok.text === 'from' && at(k + 1).kind === 'name') {
      let j = k + 1;
      let module = at(j).text;
      j++;
      while (at(j).text === '.' && at(j + 1).kind === 'name') {
        module += '.' + at(j + 1).text;
        j += 2;
      }
      if (at(j).text !== 'import') continue;
      j++;
      if (at(j).text === '(') j++;
      while (at(j).kind === 'name') {
        const name = at(j).text;
        let local = name;
        if (at(j + 1).text === 'as') {
          local = at(j + 2).text;
          j += 2;
        }
        own.add(local);
        imported.set(local, { module: canonical(module), line: at(j).line });
        const f = features.missing.find((m) => m.module === canonical(module) && m.attrs?.includes(name));
        if (f) add(at(j).line, `${canonical(module)}.${name}`, f);
        j++;
        if (at(j).text !== ',') break;
        j++;
      }
    }
  }

  for (let k = 0; k < t.length; k++) {
    const tok = at(k);
    const prev = at(k - 1);
    const next = at(k + 1);
    if (tok.kind === 'number' && /[jJ]$/.test(tok.text) && !/^0[xX]/.test(tok.text)) {
      const f = features.missing.find((m) => m.imaginary);
      if (f) add(tok.line, `imaginary literal ${tok.text}`, f);
      continue;
    }
    if (tok.kind !== 'name') continue;
    if (prev.text === '.') {
      // obj.method: methods by name, whatever the object (no firmware type has them)
      const f = next.text === '(' ? features.missing.find((m) => m.methods?.includes(tok.text)) : undefined;
      const owner = at(k - 2);
      if (f && !(owner.kind === 'name' && aliases.has(owner.text) && at(k - 3).text !== '.')) add(tok.line, `.${tok.text}()`, f);
      continue;
    }
    if (prev.text === 'def') {
      const f = features.missing.find((m) => m.defines?.includes(tok.text));
      if (f) add(tok.line, `def ${tok.text}`, f);
      continue;
    }
    // module.attr through an alias of the module
    const module = aliases.get(tok.text);
    if (module && next.text === '.' && at(k + 2).kind === 'name') {
      const attr = at(k + 2).text;
      const f = features.missing.find((m) => m.module === module && m.attrs?.includes(attr));
      if (f) add(tok.line, `${module}.${attr}`, f);
    }
    if (own.has(tok.text) || prev.text === 'class' || prev.text === 'import' || prev.text === 'as') {
      // f.x = 1 on a function the module defines (and does not rebind)
      if (functions.has(tok.text) && !assigned.has(tok.text) && next.text === '.' && at(k + 2).kind === 'name' && /^(?:=|[-+*/%&|^@]=|\/\/=|\*\*=|>>=|<<=)$/.test(at(k + 3).text)) {
        const f = features.missing.find((m) => m.functionAttributes);
        if (f) add(tok.line, `${tok.text}.${at(k + 2).text} = ...`, f);
      }
      continue;
    }
    if (next.text === '=' && (prev.text === '(' || prev.text === ',')) continue; // a keyword argument
    // builtins: functions where they are called (a parameter may share the name), names anywhere
    const b = features.missing.find((m) => m.builtins?.includes(tok.text));
    const called = next.text === '(';
    if (b && (called || tok.text === '__file__' || tok.text === 'NotImplemented')) {
      add(tok.line, called ? `${tok.text}()` : tok.text, b);
      continue;
    }
    if (tok.text === 'pow' && next.text === '(') {
      // count the call's arguments at its own nesting level
      let depth = 0;
      let commas = 0;
      let j = k + 1;
      for (; j < t.length; j++) {
        const x = at(j).text;
        if (x === '(' || x === '[' || x === '{') depth++;
        else if (x === ')' || x === ']' || x === '}') {
          depth--;
          if (depth === 0) break;
        } else if (x === ',' && depth === 1) commas++;
      }
      if (at(j - 1).text === ',') commas--;
      const f = features.missing.find((m) => m.pow3);
      if (f && commas >= 2) add(tok.line, 'pow() with three arguments', f);
    }
  }
  return findings.sort((a, b) => a.line - b.line);
}

function pythonFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== '__pycache__') out.push(...pythonFiles(p));
    } else if (name.endsWith('.py')) out.push(p);
  }
  return out;
}

/** Findings for every .py file under `paths` (files or folders, relative to `root` or absolute); file names relative to `root`. */
export function checkFirmware(root: string, paths: string[], features: FirmwareFeatures = ESP8266_GENERIC): FirmwareFinding[] {
  const files = paths.flatMap((p) => {
    const full = resolve(root, p);
    return statSync(full).isDirectory() ? pythonFiles(full) : [full];
  });
  return files.flatMap((f) => checkFirmwareSource(relative(root, f), readFileSync(f, 'utf8'), features));
}

/** The runtime a project deploys: runtime-esp8266/ and generated/micropython/. */
export const RUNTIME_PATHS = ['runtime-esp8266', 'generated/micropython'];

export function formatFirmwareFinding(f: FirmwareFinding, features: FirmwareFeatures = ESP8266_GENERIC): string {
  return `${f.file}:${f.line}: ${f.use}: not in the ${features.firmware} firmware (${f.feature.what}: ${f.feature.option})`;
}
