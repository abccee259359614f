import sys

from demo.status.cli import main

sys.exit(main())
