"""Offline push/pull of tablet records (check-ins, visits, talks, inspections).

A separate Django app (label ``sync_records``) inside the ``sync`` package, so the device
protocol's record store has its own models and migrations. The protocol is documented in
mobile_contract/tablet_sync.md.
"""
