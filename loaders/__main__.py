import sys

from loaders.cli import main

sys.exit(main())
