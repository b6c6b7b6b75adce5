"""`python -m voiceguide` and the `voiceguide` console script."""

import sys

from voiceguide.cli import main

if __name__ == "__main__":
    sys.exit(main())
