// The firmware-feature check (generator/analyses/firmware.ts): what the ESP8266_GENERIC
// firmware lacks (though the simulated VM has it) must not be in the runtime.
import { describe, expect, it } from 'vitest';
import { ESP8266_GENERIC, RUNTIME_PATHS, checkFirmware, checkFirmwareSource, formatFirmwareFinding } from '../../generator/analyses/firmware.ts';
import { SimDevice, TOOLKIT_ROOT } from '../../generator/sim/device.ts';

/** One use of each entry of esp8266-generic.json, by option. */
const USES: Record<string, string> = {
  MICROPY_PY_BUILTINS_STR_PARTITION: "k, _, v = line.partition(b':')",
  MICROPY_PY_BUILTINS_STR_CENTER: "s = 'x'.center(9)",
  MICROPY_PY_BUILTINS_STR_SPLITLINES: 'lines = body.splitlines()',
  MICROPY_PY_BUILTINS_SLICE_INDICES: 'a, b, c = slice(1, 5).indices(3)',
  MICROPY_PY_BUILTINS_COMPILE: "code = compile(src, 'f.py', 'exec')",
  MICROPY_PY_BUILTINS_EXECFILE: "execfile('main.py')",
  MICROPY_PY_BUILTINS_NOTIMPLEMENTED: 'def __eq__(self, o):\n    return NotImplemented',
  MICROPY_PY_BUILTINS_POW3: 'r = pow(b, e, (m + 1))',
  MICROPY_PY_BUILTINS_COMPLEX: 'z = 2j',
  MICROPY_PY_DELATTR_SETATTR: 'class A:\n    def __setattr__(self, k, v):\n        pass',
  MICROPY_MODULE___FILE__: 'here = __file__',
  MICROPY_PY_MATH_CONSTANTS: 'from math import inf',
  MICROPY_PY_MATH_SPECIAL_FUNCTIONS: 'import umath as m\ny = m.gamma(3)',
  MICROPY_PY_MATH_FACTORIAL: 'import math\nn = math.factorial(5)',
  MICROPY_PY_MATH_ISCLOSE: 'import math\nok = math.isclose(a, b)',
  MICROPY_PY_BINASCII_CRC32: 'import binascii\nc = binascii.crc32(data)',
  MICROPY_PY_RANDOM_EXTRA_FUNCS: 'import random\nk = random.randint(1, 6)',
  MICROPY_PY_SYS_PS1_PS2: 'import sys\np = sys.ps1',
  'no MicroPython port has them': 'def handler():\n    pass\nhandler.calls = 0',
};

describe('firmware-feature check (ESP8266_GENERIC)', () => {
  it('the runtime (runtime-esp8266/ and generated/micropython/) uses nothing the ESP8266_GENERIC firmware lacks', () => {
    const findings = checkFirmware(TOOLKIT_ROOT, RUNTIME_PATHS);
    expect(findings.map((f) => formatFirmwareFinding(f))).toEqual([]);
  });

  it('finds a use of every feature in the list, with the option that leaves it out', () => {
    expect(Object.keys(USES).sort()).toEqual(ESP8266_GENERIC.missing.map((m) => m.option).sort());
    for (const [option, src] of Object.entries(USES)) {
      const found = checkFirmwareSource('t.py', src).map((f) => f.feature.option);
      expect(found, src).toEqual([option]);
    }
  });

  it('does not flag what the firmware has, nor names in strings and comments, nor names the module defines', () => {
    const src = [
      "s = 'a.partition(b) compile() 2j'  # x.splitlines(), math.inf",
      'doc = """\nbody.splitlines()\n"""',
      'import math',
      'x = math.pi + math.e + math.sqrt(2) + pow(2, 3) + pow(2, (3, 4)[0])',
      'import random',
      'random.seed(1)\nr = random.getrandbits(8)',
      'def compile(rules):\n    return rules',
      'plan = compile([])',
      'def f(execfile=None):\n    return execfile',
      'class C:\n    def partitions(self):\n        return self.center_of_mass',
      'def g():\n    pass\ng2 = g\nn = g.__name__',
    ].join('\n');
    expect(checkFirmwareSource('ok.py', src).map((f) => formatFirmwareFinding(f))).toEqual([]);
  });
});

describe('the simulated ESP8266 refuses what its firmware lacks', () => {
  const files = {
    '/lib/headers.py': "def split(line):\n    k, _, v = line.partition(b':')\n    return k, v\n",
    '/lib/fine.py': "def split(line):\n    i = line.find(b':')\n    return line[:i], line[i + 1:]\n",
    '/lib/pkg/__init__.py': '',
    '/lib/pkg/consts.py': 'import math\nBIG = math.inf\n',
  };
  const outcome = `def outcome(code):
    try:
        exec(code, {})
        return 'ok'
    except Exception as e:
        return '%s: %s' % (type(e).__name__, e.args[0] if e.args else '')
`;

  it('imports of .py modules that use a missing feature fail with ImportError naming it; builtins it lacks fail as on the board', async () => {
    const dev = await SimDevice.boot({ files });
    try {
      await dev.exec(outcome);
      const r = await dev.eval<string[]>(`[outcome(c) for c in ('import headers', 'import fine', 'from pkg import consts', 'import pkg.consts', "compile('1', 'f', 'eval')", 'complex(1, 2)', 'pow(2, 3, 5)', 'pow(2, 3)')]`);
      expect(r[0]).toBe('ImportError: /lib/headers.py:2: .partition(): not in the ESP8266_GENERIC firmware (str/bytes partition() and rpartition(): MICROPY_PY_BUILTINS_STR_PARTITION)');
      expect(r[1]).toBe('ok');
      expect(r[2]).toMatch(/^ImportError: \/lib\/pkg\/consts.py:2: math.inf: .*MICROPY_PY_MATH_CONSTANTS/);
      expect(r[3]).toBe(r[2]);
      expect(r.slice(4)).toEqual([
        "NameError: name 'compile' isn't defined",
        "NameError: name 'complex' isn't defined",
        'TypeError: function takes 2 positional arguments but 3 were given',
        'ok',
      ]);
    } finally {
      await dev.close();
    }
  });

  it('a script that uses a missing feature is refused before it runs; firmware: null checks nothing', async () => {
    const script = { '/main.py': "print('ran')\nprint(b'a:b'.partition(b':'))\n" };
    let out = '';
    const dev = await SimDevice.boot({ files: script, stdout: (s) => (out += s) });
    try {
      await expect(dev.runFile('/main.py')).rejects.toThrow(/ImportError: \/main.py:2: .partition\(\)/);
      expect(out).toBe('');
    } finally {
      await dev.close();
    }
    const open = await SimDevice.boot({ files: { ...files, ...script }, stdout: (s) => (out += s), firmware: null });
    try {
      await open.runFile('/main.py');
      await open.exec(outcome);
      expect(await open.eval('outcome("import headers")')).toBe('ok');
      expect(out).toContain('ran');
    } finally {
      await open.close();
    }
  });
});
