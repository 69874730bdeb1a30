from ginn_gl.cli import main

if __name__ == "__main__":  # a spawned helper process imports this module too: it must not run main()
    raise SystemExit(main())
