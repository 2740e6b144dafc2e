"""``python -m tessera.model --markdown`` prints docs/data-model.md."""

from __future__ import annotations

import sys

from tessera.model import get_model, to_markdown


def main(argv: list[str]) -> int:
    if argv[1:] == ["--markdown"]:
        sys.stdout.write(to_markdown())
        return 0
    if argv[1:] == ["--json"]:
        sys.stdout.write(get_model().model_dump_json(indent=2) + "\n")
        return 0
    sys.stderr.write("usage: python -m tessera.model --markdown | --json\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
