"""The coverage world (record list, units, officers, devices with measured clocks)."""

from tests.coverage_integration.conftest import record_list, world

__all__ = ["record_list", "world"]
