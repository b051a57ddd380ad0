#!/usr/bin/env python3
"""Check, offline, that FieldVault held a file on the day it says (standard library only).

    python3 verify_fieldvault.py FILE PROOF.json [--ca TSA-CA.pem]

Each step is printed; the exit code is 0 when every step holds, 1 when one fails, and 2
when everything checked holds but the timestamp token could not be checked because no
`openssl` command is installed (the output says so).

  1. the file's SHA-256 and size are those in the proof's leaf;
  2. the leaf, hashed as RFC 6962 prescribes (SHA-256 of 0x00 ‖ leaf), and the audit path
     lead to the day's Merkle root;
  3. the day statement names that root (and the previous day's statement, so the roots
     form a chain);
  4. the RFC 3161 timestamp token stamps SHA-256 of the statement and is signed by a
     certificate that chains to the TSA's CA certificate (`openssl ts -verify`).

检查 FieldVault 在其所称日期确实保存了该文件（离线、仅用 Python 标准库）：文件的 SHA-256
→ 叶子 → 审计路径 → 当日默克尔根 → 根的 RFC 3161 可信时间戳及证书链。
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROOF_FORMAT = "fieldvault-inclusion-proof/1"
STATEMENT_FORMAT = "fieldvault-day-root/1"


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_path(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root an audit path leads to, or None when it cannot fit."""
    if not 0 <= index < size:
        return None
    fn, sn, result = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = _node(sibling, result)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            result = _node(result, sibling)
        fn >>= 1
        sn >>= 1
    return result if sn == 0 else None


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _sha256_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class Report:
    def __init__(self) -> None:
        self.failed = False
        self.unchecked = False

    def ok(self, text: str) -> None:
        print(f"OK    {text}")

    def fail(self, text: str) -> None:
        print(f"FAIL  {text}")
        self.failed = True

    def skip(self, text: str) -> None:
        print(f"SKIP  {text}")
        self.unchecked = True


def token_check(token: bytes, digest: bytes, ca: Path | None, report: Report) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        # Without openssl only a weak check is possible: the digest is inside the token.
        if digest in token:
            report.skip(
                "timestamp token NOT verified (no `openssl` command here); the statement's "
                "digest does appear in it. Run again where openssl is installed."
            )
        else:
            report.fail("the timestamp token does not carry the statement's digest")
        return
    if ca is None:
        report.skip("timestamp token NOT verified: no TSA CA certificate given (--ca)")
        return
    with tempfile.TemporaryDirectory() as scratch:
        token_path = Path(scratch) / "token.tsr"
        token_path.write_bytes(token)
        result = subprocess.run(
            [
                openssl,
                "ts",
                "-verify",
                "-digest",
                digest.hex(),
                "-in",
                str(token_path),
                "-CAfile",
                str(ca),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode == 0 and "OK" in result.stdout:
        report.ok(f"timestamp token verified by openssl ts -verify against {ca.name}")
    else:
        reason = (result.stderr or result.stdout).strip().splitlines()
        report.fail("timestamp token does not verify: " + (reason[-1] if reason else "?"))


def token_time(token: bytes) -> str:
    openssl = shutil.which("openssl")
    if openssl is None:
        return ""
    with tempfile.TemporaryDirectory() as scratch:
        token_path = Path(scratch) / "token.tsr"
        token_path.write_bytes(token)
        result = subprocess.run(
            [openssl, "ts", "-reply", "-in", str(token_path), "-text"],
            capture_output=True,
            text=True,
            check=False,
        )
    for line in result.stdout.splitlines():
        if line.startswith("Time stamp:"):
            return line.split(":", 1)[1].strip()
    return ""


def verify(file: Path, proof_path: Path, ca: Path | None) -> int:
    report = Report()
    try:
        proof = json.loads(proof_path.read_text(encoding="utf-8"))
        if proof.get("format") != PROOF_FORMAT:
            raise ValueError(f"not a {PROOF_FORMAT} document")
        leaf_text: str = proof["leaf"]["data"]
        leaf_bytes = leaf_text.encode("utf-8")
        leaf = json.loads(leaf_text)
        index = int(proof["leaf"]["index"])
        size = int(proof["tree_size"])
        path = [bytes.fromhex(node) for node in proof["audit_path"]]
        statement_text: str = proof["statement"]
        statement_bytes = statement_text.encode("utf-8")
        statement = json.loads(statement_text)
        token = base64.b64decode(proof["timestamp"]["token"]) if proof.get("timestamp") else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"FAIL  the proof cannot be read: {exc}")
        return 1

    sha256, length = _sha256_file(file)
    if sha256 == leaf.get("sha256") and length == leaf.get("size"):
        report.ok(f"{file.name}: SHA-256 {sha256}, {length} bytes, as in the leaf")
    else:
        report.fail(
            f"{file.name}: SHA-256 {sha256} / {length} bytes, the leaf says "
            f"{leaf.get('sha256')} / {leaf.get('size')}"
        )
    leaf_hash = hashlib.sha256(b"\x00" + leaf_bytes).digest()
    root = root_from_path(leaf_hash, index, size, path)
    if root is None:
        report.fail(f"the audit path does not fit leaf {index} of a tree of {size}")
    elif root.hex() == statement.get("root"):
        report.ok(f"leaf {index} of {size}, audit path of {len(path)} nodes, leads to the root")
    else:
        report.fail(
            f"the audit path leads to {root.hex()}, the day's root is {statement.get('root')}"
        )
    if (
        statement.get("format") != STATEMENT_FORMAT
        or _canonical(statement) != statement_bytes
        or statement.get("tree_size") != size
    ):
        report.fail("the day statement is not a canonical FieldVault statement for this tree")
    else:
        report.ok(
            f"day {statement['day']} of {statement['installation']}: root {statement['root']}, "
            f"previous day's statement {statement['previous']}"
        )
    digest = hashlib.sha256(statement_bytes).digest()
    if token is None:
        report.skip("the root has no timestamp yet (the TSA had not answered when exported)")
    else:
        token_check(token, digest, ca, report)
        when = token_time(token)
        if when and not report.failed:
            report.ok(f"timestamped at {when}")
    if report.failed:
        print("RESULT: NOT VERIFIED / 验证未通过")
        return 1
    if report.unchecked:
        print("RESULT: verified except the steps marked SKIP / 除标记 SKIP 的步骤外均已验证")
        return 2
    print("RESULT: VERIFIED / 验证通过")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("file", type=Path, help="the file to check")
    parser.add_argument("proof", type=Path, help="its inclusion proof (.proof.json)")
    parser.add_argument("--ca", type=Path, default=None, help="the TSA's CA certificate (PEM)")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(f"no such file: {args.file}")
    return verify(args.file, args.proof, args.ca)


if __name__ == "__main__":
    sys.exit(main())
