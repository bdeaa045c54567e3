"""``python -m gnet``: the ``gnet`` command (see :mod:`gnet.cli`)."""

from gnet.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
