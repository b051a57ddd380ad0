"""fieldvault-dock: the 采集工作站 agent.

Body cameras that run no FieldVault client are docked at a workstation, where each appears
as USB mass storage. This agent watches the mount roots, identifies each camera, reads its
clips' recorded times, hashes them, sends the dock manifest
(`POST /api/sync/v1/dock/manifest`, see mobile_contract/README.md), uploads what the
server lacks with tus (tuspy, resuming), and deletes from the camera only what the server
answers `stored` (and only when configured to). A SQLite journal keeps what was hashed,
sent and deleted across restarts.

Django-free and FieldVault-free on purpose (an import-linter contract holds it): it is
installed on the workstation by itself.
"""

__version__ = "0.1.0"
