"""Two entry points in one file, told apart by who runs it:

- the Pulumi language host (`pulumi up -s NAME`, `Pulumi.yaml: main: stacks/`): the engine's monitor is
  configured before this runs, so it declares the stack (typed config -> components -> outputs contract);
- `python -m stacks up|preview|refresh|destroy|outputs --stack NAME`: the same program as an Automation API
  inline program (stacks/cli.py), for the CLI `make setup` builds, which has no Python language host.
"""

import sys
from pathlib import Path

from pulumi.runtime.settings import get_monitor

# Pulumi runs this file by path: make the repository's packages importable without an install.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

if get_monitor() is not None:
    from stacks.engine import default_program

    default_program()
else:
    # as `stacks.cli`, not `__main__`: the dynamic providers are pickled by reference to their modules
    from stacks.cli import main

    raise SystemExit(main())
