"""`python -m twinpurify ...` runs the command line (`twinpurify --help`)."""

from .cli import main

raise SystemExit(main())
