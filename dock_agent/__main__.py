from dock_agent.cli import main

raise SystemExit(main())
