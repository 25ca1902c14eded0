"""`frameaudit paths [--json]`: where the plugin and the Python package are.

One `key: value` a line (README "Install"): plugin, python (the directory
to `command script import`: the frameaudit package), lldbinit (a line for
~/.lldbinit), then version, layout, launcher, lldb and lldb_python. With
--json the same keys as one JSON object. Works without LLDB installed.
"""

import json
import os
import sys

from .. import exit_codes
from ..main import _version


def paths_info(layout) -> dict:
    package = layout.package_dir
    return {
        "plugin": layout.plugin,
        "python": package,
        "lldbinit": f"command script import {package}",
        "lldbinit_native": f"plugin load {layout.plugin}",
        "version": _version(layout),
        "layout": layout.kind,
        "launcher": layout.launcher,
        "lldb": layout.lldb_executable,
        "lldb_python": os.environ.get("FRAMEAUDIT_LLDB_PYTHON") or layout.lldb_python_dir,
        "python_executable": sys.executable,
    }


def paths_command(args, layout) -> int:
    info = paths_info(layout)
    if args.json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
    else:
        sys.stdout.write("".join(f"{k}: {'' if v is None else v}\n" for k, v in info.items()))
    sys.stdout.flush()
    missing = [k for k in ("plugin", "python") if not os.path.exists(info[k])]
    for key in missing:
        sys.stderr.write(f"frameaudit: note: {key} {info[key]} does not exist (not built or not installed?)\n")
    return exit_codes.OK
