"""``python -m tessera``."""

from tessera.cli import main

main()
