"""The frameaudit command-line tool (docs/user-guide.md section 8): analyze, run, lint, paths.

Started by the generated launcher `bin/frameaudit` (build tree or install
prefix), or as `python3 -m frameaudit.cli` with the package on sys.path.
"""

from .main import main

__all__ = ["main"]
