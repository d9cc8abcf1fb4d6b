"""`python -m simulator`: run the KusciaAPI simulator (options: simulator/cli.py)."""

from .cli import main

raise SystemExit(main())
