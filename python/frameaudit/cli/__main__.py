"""`python3 -m frameaudit.cli ...`: the same as bin/frameaudit."""

import sys

from .main import main

sys.exit(main())
