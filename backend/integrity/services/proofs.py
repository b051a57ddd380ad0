"""Inclusion proofs: a recording's leaf, its audit path, the day statement and its token,
in the form ops/verify_fieldvault.py reads."""

from __future__ import annotations

import base64
from typing import Any

from backend.footage.models import Recording
from backend.integrity.models import DayRoot, Leaf, LeafKind
from backend.integrity.services.publishing import trust_anchor_pem
from provenance.merkle import MerkleTree

PROOF_FORMAT = "fieldvault-inclusion-proof/1"


def day_tree(root: DayRoot) -> MerkleTree:
    """The day's tree rebuilt from its stored leaf hashes (a proof that does not lead to the
    timestamped root fails in the verifier, which hashes the leaf itself)."""
    hashes = Leaf.objects.filter(day=root).order_by("index").values_list("leaf_hash", flat=True)
    return MerkleTree(
        [bytes.fromhex(value) for value in hashes.iterator(chunk_size=20000)], hashed=True
    )


def recording_leaf_stored(recording: Recording) -> Leaf | None:
    return (
        Leaf.objects.select_related("day")
        .filter(kind=LeafKind.RECORDING, object_id=str(recording.pk))
        .first()
    )


def recording_proof(recording: Recording, *, tree: MerkleTree | None = None) -> dict[str, Any]:
    """The proof, or a dict with `"pending"` when the recording's day is not sealed yet."""
    leaf = recording_leaf_stored(recording)
    if leaf is None:
        return {
            "format": PROOF_FORMAT,
            "recording": str(recording.pk),
            "pending": True,
            "stored_at": recording.stored_at.isoformat() if recording.stored_at else None,
        }
    root = leaf.day
    tree = tree or day_tree(root)
    return {
        "format": PROOF_FORMAT,
        "recording": str(recording.pk),
        "file_name": recording.file_name,
        "pending": False,
        "day": root.day.isoformat(),
        "leaf": {"index": leaf.index, "data": leaf.data, "hash": leaf.leaf_hash},
        "tree_size": root.tree_size,
        "audit_path": [node.hex() for node in tree.audit_path(leaf.index)],
        "root": root.root,
        "statement": root.statement,
        "statement_hash": root.statement_hash,
        "timestamp": (
            {
                "token": base64.b64encode(bytes(root.stamp_token)).decode("ascii"),
                "gen_time": root.stamp_gen_time.isoformat() if root.stamp_gen_time else None,
                "serial": root.stamp_serial,
                "tsa_url": root.stamp_tsa_url,
            }
            if root.stamp_token is not None
            else None
        ),
        "tsa_ca_pem": trust_anchor_pem().decode("ascii"),
    }
