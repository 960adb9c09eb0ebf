"""Subcommands of the ``voxcap`` command line, one module each (see :mod:`app.cli`)."""
