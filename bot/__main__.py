"""`python -m bot` is the same as the `danvan` command."""

import sys

from bot.main.cli import main

sys.exit(main())
