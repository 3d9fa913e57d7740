from line_mcp.cli import main

raise SystemExit(main())
