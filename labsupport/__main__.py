"""``python -m labsupport``: the lab's command line (see :mod:`labsupport.cli`)."""

import sys

from labsupport.cli import main

sys.exit(main())
