"""RFC 6962 / RFC 9162 Merkle trees: leaf = SHA-256(0x00 ‖ data),
node = SHA-256(0x01 ‖ left ‖ right), the empty tree's root = SHA-256("").

The tree is built level by level; an odd node at the end of a level is carried up
unchanged. That is exactly RFC 6962's split at the largest power of two below n, so roots
and audit paths are the standard ones (a Certificate Transparency verifier accepts them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from itertools import chain, islice, repeat

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


class MerkleTree:
    """All levels of the tree over `leaves` (the leaf data, in order), kept so that any
    leaf's audit path is a few list lookups."""

    def __init__(self, leaves: Sequence[bytes], *, hashed: bool = False) -> None:
        """`hashed=True`: `leaves` are the leaf hashes already (a tree rebuilt from the
        hashes kept in the database)."""
        sha256 = hashlib.sha256
        prefix = LEAF_PREFIX
        level = list(leaves) if hashed else [sha256(prefix + data).digest() for data in leaves]
        self.levels: list[list[bytes]] = [level]
        while len(level) > 1:
            paired = [
                sha256(NODE_PREFIX + left + right).digest()
                for left, right in zip(level[0::2], level[1::2], strict=False)
            ]
            if len(level) % 2:
                paired.append(level[-1])
            self.levels.append(paired)
            level = paired

    @property
    def size(self) -> int:
        return len(self.levels[0])

    @property
    def root(self) -> bytes:
        if not self.levels[0]:
            return EMPTY_ROOT
        return self.levels[-1][0]

    def leaf_hash(self, index: int) -> bytes:
        return self.levels[0][index]

    def audit_path(self, index: int) -> list[bytes]:
        """The sibling hashes from the leaf up to the root (RFC 9162 §2.1.3)."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} is not in a tree of {self.size}")
        path = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index >>= 1
        return path

    def audit_paths(self) -> list[tuple[bytes, ...]]:
        """Every leaf's audit path at once (equal to `audit_path(i)` for each i), built
        column by column in C loops: one column per level holding each leaf's sibling at
        that level (None where an odd last node is carried up, then filtered out)."""
        n = self.size
        if n <= 1:
            return [()] * n
        columns = []
        for height, level in enumerate(self.levels[:-1]):
            m = len(level)
            even = m - (m & 1)
            siblings: list[bytes | None] = [None] * m
            siblings[0:even:2] = level[1:m:2]
            siblings[1:m:2] = level[0:even:2]
            per_node = repeat(1 << height)
            columns.append(islice(chain.from_iterable(map(repeat, siblings, per_node)), n))
        # A digest is never empty, so filter(None, …) drops exactly the carried-up holes.
        return list(map(tuple, map(filter, repeat(None), zip(*columns, strict=True))))


def root_from_path(*, leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes | None:
    """The root that `path` leads to from the leaf *hash* at `index` of a tree of `size`
    leaves (RFC 9162 §2.1.3.2), or None when the path does not fit that position."""
    if not 0 <= index < size:
        return None
    fn, sn = index, size - 1
    result = leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return result


def verify_inclusion(
    *, leaf_data: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    return root_from_path(leaf=leaf_hash(leaf_data), index=index, size=size, path=path) == root
