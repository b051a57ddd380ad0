"""Integrity services, by sub-domain: leaves (what a day commits to), sealing (the day's
tree and chained statement), stamping (RFC 3161), publishing (append-only day files),
proofs (inclusion proofs), verification (recompute and compare), periodic (the pass)."""
