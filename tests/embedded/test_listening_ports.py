"""Issue 13 "Done when": every TCP port the embedded stack (`make run`) listens on, and
proof that each one other than the web and S3 ports refuses a client without credentials.

The stack's processes are found by their environment (FV_VAR_DIR of this test), so a
child that is not a descendant of the supervisor would be found too."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.embedded.test_embedded_processes import (  # noqa: F401  (fixture)
    Embedded,
    embedded_factory,
    stack_processes,
)
from tests.security.probes import listening_ports, process_tree, unauthenticated_access

pytestmark = pytest.mark.integration


def test_every_port_but_web_and_s3_refuses_an_unauthenticated_client(
    tmp_path: Path,
    embedded_factory: list[Embedded],  # noqa: F811  (the fixture imported above)
) -> None:
    stack = Embedded(tmp_path, FV_DEMO_SYNC="0")
    embedded_factory.append(stack)
    stack.wait_for_line(r"Ctrl\+C stops everything", timeout=240)
    pids = process_tree([stack.process.pid, *stack_processes(stack.var)])
    ports = listening_ports(pids)
    commands = {pid: stack_processes(stack.var).get(pid, "") for pid in pids}
    assert {stack.web_port, stack.s3_port} <= ports, (ports, commands)
    # weed mini: master, volume, filer, s3-grpc and admin ports besides S3 itself.
    assert len(ports) >= 10, ports
    answers = {port: unauthenticated_access(port) for port in sorted(ports)}
    print(f"{len(ports)} listening ports:", {p: w or "refused" for p, w in answers.items()})
    # The probes do see an open service: web and S3 answer plain HTTP.
    assert answers.pop(stack.web_port) and answers.pop(stack.s3_port)
    # The local RFC 3161 TSA of the embedded default (provenance/local_tsa.py) is public by
    # design, like the national TSA production names instead: it signs the current time over
    # any hash for anyone and holds no data, so there is nothing behind it to guard. It must
    # be the TSA, though: a GET is refused (it answers timestamp queries only).
    tsa = answers.pop(stack.tsa_port)
    assert tsa and all("501" in way or "Unsupported method" in way for way in tsa[:1]), tsa
    assert {port: ways for port, ways in answers.items() if ways} == {}
