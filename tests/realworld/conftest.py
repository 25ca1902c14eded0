"""pytest set-up of the real-program corpus (CTest label `realworld`).

    FRAMEAUDIT_BUILD_DIR=build /usr/bin/python3 -m pytest tests/realworld -q
    RW_PROGRAMS=sleep,vim ...     only these programs
    RW_FRESH=1 ...                remake every core (CTest sets it)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
