"""Django-free provenance: RFC 6962 Merkle trees over a day's leaves, a chained log of day
roots, and RFC 3161 trusted timestamps (client and a real local TSA for tests and the
embedded stack)."""
