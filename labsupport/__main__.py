"""``python -m labsupport``: the lab's command line (see :mod:`labsupport.cli`).

First it asks whether this Python can run the lab (:mod:`labsupport.interpreter`): run with a
Python that lacks the lab's packages, or on native Windows, it prints one line saying what to
do and exits 1, before anything that would fail with a traceback is imported.
"""

import sys

from labsupport.interpreter import exit_unless_ready

exit_unless_ready("labsupport")

from labsupport.cli import main  # noqa: E402  (only once the packages it needs are known to be there)

sys.exit(main())
