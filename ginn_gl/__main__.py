from ginn_gl.cli import main

raise SystemExit(main())
