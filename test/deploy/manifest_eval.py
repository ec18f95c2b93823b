# Reads a MicroPython manifest.py as the firmware build does (tools/manifestfile.py: the manifest
# runs with its own folder as the working folder; module() and package() resolve base_path from
# there) and prints what it freezes: [[name in the firmware, host file], ...] and the includes.
import json
import os
import sys

manifest = os.path.abspath(sys.argv[1])
frozen = []
includes = []


def include(p):
    includes.append(p)


def module(p, base_path="."):
    frozen.append([p, os.path.abspath(os.path.join(base_path, p))])


def package(p, files=None, base_path="."):
    base = os.path.abspath(base_path)
    for folder, _, names in sorted(os.walk(os.path.join(base, p))):
        for n in sorted(names):
            if n.endswith(".py"):
                full = os.path.join(folder, n)
                frozen.append([os.path.relpath(full, base), full])


os.chdir(os.path.dirname(manifest))
with open(manifest) as f:
    exec(f.read(), {"include": include, "module": module, "package": package})
print(json.dumps({"frozen": frozen, "includes": includes}))
