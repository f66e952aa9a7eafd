"""The `assist` command: one entry point whose subcommands live beside the code they drive."""

#: Kept equal to pyproject.toml's version (a test checks): `assist --version` reads the installed
#: distribution's metadata, and this only when running from a source tree that is not installed.
__version__ = "0.1.0"
