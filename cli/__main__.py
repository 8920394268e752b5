"""`python -m cutover.cli`: the same as the `cutover` command."""

from __future__ import annotations

import sys

from cutover.cli.main import main

sys.exit(main())
