from assmat.cli import main

raise SystemExit(main())
