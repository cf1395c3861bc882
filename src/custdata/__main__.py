"""``python -m custdata``: the same as the ``custdata`` command."""

import sys

from custdata.cli import main

sys.exit(main())
