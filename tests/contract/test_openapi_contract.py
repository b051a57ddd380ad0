"""The checked-in OpenAPI document and the device examples match the code."""

import json
from pathlib import Path

import pytest

from backend.corrections.schemas import PositionBatchIn, PositionBatchOut
from mobile_contract.openapi import OPENAPI_PATH, current_document, render
from sync.schemas import DockManifestIn, DockManifestOut, ManifestIn, ManifestOut

EXAMPLES = Path(__file__).resolve().parents[2] / "mobile_contract" / "examples"


def test_checked_in_openapi_matches_the_code() -> None:
    assert OPENAPI_PATH.read_text(encoding="utf-8") == render(current_document()), (
        "mobile_contract/openapi.json has drifted from the code: run `python -m mobile_contract.openapi` "
        "and review the diff: device developers code against it"
    )


def test_openapi_documents_the_manifest_operation() -> None:
    document = current_document()
    operation = document["paths"]["/api/sync/v1/manifest"]["post"]
    assert "stored" in operation["description"]
    assert operation["security"]


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("manifest_request.json", ManifestIn),
        ("manifest_response.json", ManifestOut),
        ("dock_manifest_request.json", DockManifestIn),
        ("dock_manifest_response.json", DockManifestOut),
        ("positions_batch_request.json", PositionBatchIn),
        ("positions_batch_response.json", PositionBatchOut),
    ],
)
def test_examples_validate_against_the_schemas(name: str, schema: type) -> None:
    schema.model_validate(json.loads((EXAMPLES / name).read_text(encoding="utf-8")))  # type: ignore[attr-defined]
