"""``python -m custdata``: the same as the ``custdata`` command."""

import sys

from custdata.cli import main

if __name__ == "__main__":
    sys.exit(main())
