"""`python -m lightser.cli`: the `lightser` command."""

import sys

from .commands import main

sys.exit(main())
