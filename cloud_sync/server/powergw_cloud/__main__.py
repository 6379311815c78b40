"""`python -m powergw_cloud ...`: the same as the `powergw-cloud` console script."""

import sys

from .cli import main

sys.exit(main())
