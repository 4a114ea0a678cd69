"""`python -m engine.cli ARGS`: the same as the `gridhanoi` entry point."""
import sys

from engine.cli.main import main

sys.exit(main())
