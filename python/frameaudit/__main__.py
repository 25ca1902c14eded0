"""`python3 -m frameaudit ...`: the command-line tool, the same as bin/frameaudit.

Python runs this file only for `-m frameaudit`; `import frameaudit` and
LLDB's `command script import` load the package's __init__ and never this.
"""

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
