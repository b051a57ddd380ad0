"""Export the API's OpenAPI document to mobile_contract/openapi.json.

    python -m mobile_contract.openapi          # write it
    python -m mobile_contract.openapi --check  # exit 1 when the checked-in copy has drifted

The checked-in document is what device developers code against; a test fails when the
code and it disagree.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

OPENAPI_PATH = Path(__file__).with_name("openapi.json")


def current_document() -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    import django

    django.setup()
    from backend.config.api import api

    document: dict[str, Any] = json.loads(json.dumps(api.get_openapi_schema(path_prefix="/api/")))
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render(current_document())
    if args.check:
        if not OPENAPI_PATH.exists() or OPENAPI_PATH.read_text(encoding="utf-8") != text:
            print(
                "mobile_contract/openapi.json is out of date: run python -m mobile_contract.openapi"
            )
            return 1
        return 0
    OPENAPI_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {OPENAPI_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
