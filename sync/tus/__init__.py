"""A tus 1.0 server (ASGI) and its upload store interface: stdlib only, no Django, no app
(import-linter contract in pyproject.toml); sync/uploads.py is the store FieldVault plugs in."""
