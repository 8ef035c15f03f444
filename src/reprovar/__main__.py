"""``python -m reprovar``: the same command line as ``reprovar``."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="reprovar")
