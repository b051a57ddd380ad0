"""Bounds shared by API parameters: what the database can hold."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

BIGINT_MAX = 2**63 - 1  # an id or a number beyond this is a 4xx, never a database error

# A database id sent by a client: 1 … 2**63-1 (a bigger one gave a 500 from the database).
DbId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
