"""The tablet sync examples in mobile_contract/ are valid messages of the real schemas."""

from __future__ import annotations

import json
from pathlib import Path

from backend.corrections.device_records import ContactData
from backend.inspections.device_records import InspectionData
from sync.records.schemas import PullOut, PushIn, PushOut

EXAMPLES = Path(__file__).resolve().parents[2] / "mobile_contract" / "examples"


def _load(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def test_push_request_example_matches_the_schemas() -> None:
    request = PushIn.model_validate(_load("tablet_push_request.json"))
    for mutation in request.mutations:
        if mutation.op == "put" and mutation.kind == "inspection":
            InspectionData.model_validate(mutation.data)
        elif mutation.op == "put":
            ContactData.model_validate(mutation.data)


def test_push_response_and_pull_examples_match_the_schemas() -> None:
    response = PushOut.model_validate(_load("tablet_push_response.json"))
    request = _load("tablet_push_request.json")
    assert [r.mutation_id for r in response.results] == [
        m["mutation_id"] for m in request["mutations"]
    ]
    assert {r.status for r in response.results} == {"applied", "conflict", "retry", "rejected"}
    pull = PullOut.model_validate(_load("tablet_pull_response.json"))
    versions = [r.version for r in pull.records]
    assert versions == sorted(versions) and pull.cursor == str(versions[-1])


def test_a_real_pull_answer_matches_the_documented_schema(db: object) -> None:
    """The pull endpoint encodes its answer itself (no response validation at run time):
    what it sends must still be a valid PullOut."""
    from tests.fieldwork.conftest import build_world

    world = build_world()
    status, body = world.north.tablet.get("/api/sync/v1/records/pull", {"cursor": "0"})
    assert status == 200
    answer = PullOut.model_validate(body)
    assert answer.records and answer.cursor == str(answer.records[-1].version)
    assert set(body) == set(PullOut.model_fields)
    assert set(body["records"][0]) == {"kind", "id", "version", "deleted", "data"}
