from faults.cli import main

raise SystemExit(main())
