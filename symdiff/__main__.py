"""``python -m symdiff``: the command line, as the ``symdiff`` script runs it."""

import sys

from .cli import main

sys.exit(main())
