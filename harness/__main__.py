"""`python -m harness` (and `torchrun -m harness`) runs the CLI."""

import sys

from harness.cli import main

sys.exit(main())
