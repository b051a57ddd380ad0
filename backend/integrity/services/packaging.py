"""The integrity/ folder of an export package: each file's inclusion proof, the day
statements and tokens they lead to, the TSA's CA certificate, the offline verifier and a
README in Chinese and English."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import ops.verify_fieldvault
from backend.footage.models import Recording
from backend.integrity.models import DayRoot
from backend.integrity.services.proofs import day_tree, recording_leaf_stored, recording_proof
from backend.integrity.services.publishing import root_file_names, trust_anchor_pem
from provenance.merkle import MerkleTree

# ruff: noqa: E501  (the README's command lines are kept whole)

README = """\
完整性证明 / Proof of integrity
===============================

本目录证明：FieldVault 在文件所列日期确实保存了与 originals/ 中完全相同的字节。
每天结束时，系统把当天存储的每个文件（SHA-256、大小、设备、片段编号、存储时间）、当天
上传的调阅申请材料和当天最后一条审计链哈希组成一棵默克尔树（RFC 6962），当日的根与前一日的根相链接，并由可信
时间戳机构（RFC 3161）加盖时间戳。任何人都可以离线核验，无需联系本系统：

  python3 integrity/verify_fieldvault.py originals/<文件> integrity/proofs/<文件>.proof.json --ca integrity/tsa-ca.pem

只需 Python 3（标准库）；校验时间戳令牌还需要 openssl 命令（没有时脚本会明确说明未校验
时间戳，退出码为 2）。输出“VERIFIED / 验证通过”表示：文件的 SHA-256 → 叶子 → 审计路径
→ 当日的根 → 时间戳令牌及其证书链，每一步都成立。任何一个字节被改动都会导致验证失败。
roots/ 中是相关日期的根声明（.statement.json）及其时间戳令牌（.tsr），也可用
openssl ts -verify -data roots/<日期>.statement.json -in roots/<日期>.tsr -CAfile integrity/tsa-ca.pem
单独核验。尚未封存（当天存储、当天导出）的文件没有证明，见 proofs/ 中的 pending 说明。

This folder proves that FieldVault held exactly the bytes in originals/ on the day it
says. At the end of each day the system builds a Merkle tree (RFC 6962) over every file
stored that day (SHA-256, size, device, clip id, stored time), the access-request documents
uploaded that day and the day's last audit-chain hash; the day's root is chained to the previous day's and timestamped by a trusted
timestamping authority (RFC 3161). Anyone can check it offline, without this system:

  python3 integrity/verify_fieldvault.py originals/<file> integrity/proofs/<file>.proof.json --ca integrity/tsa-ca.pem

Only Python 3 (standard library) is needed; checking the timestamp token also needs the
openssl command (without it the script says the token was not checked and exits with 2).
"VERIFIED" means every step holds: the file's SHA-256 → its leaf → the audit path → the
day's root → the timestamp token and its certificate chain. Any changed byte fails it.
roots/ holds the day statements (.statement.json) and their tokens (.tsr); each can also
be checked alone with
openssl ts -verify -data roots/<day>.statement.json -in roots/<day>.tsr -CAfile integrity/tsa-ca.pem
A file stored on the day it was exported has no proof yet (see the pending note in proofs/).
"""


def integrity_files(
    recordings: Iterable[Recording], name_of: Callable[[Recording], str]
) -> list[tuple[str, bytes]]:
    """(path, bytes) of every file of the integrity/ folder (receiver of review's
    PACKAGE_FILES_HOOKS, wired in backend/wiring/registry.py)."""
    files: list[tuple[str, bytes]] = []
    trees: dict[int, MerkleTree] = {}
    days: dict[int, DayRoot] = {}
    for recording in recordings:
        leaf = recording_leaf_stored(recording)
        tree = None
        if leaf is not None:
            days[leaf.day_id] = leaf.day
            if leaf.day_id not in trees:
                trees[leaf.day_id] = day_tree(leaf.day)
            tree = trees[leaf.day_id]
        proof = recording_proof(recording, tree=tree)
        text = json.dumps(proof, ensure_ascii=False, indent=2) + "\n"
        files.append((f"integrity/proofs/{name_of(recording)}.proof.json", text.encode("utf-8")))
    for root in sorted(days.values(), key=lambda r: r.day):
        statement_name, token_name = root_file_names(root.day)
        files.append((f"integrity/roots/{statement_name}", root.statement.encode("utf-8")))
        if root.stamp_token is not None:
            files.append((f"integrity/roots/{token_name}", bytes(root.stamp_token)))
    anchor = trust_anchor_pem()
    if anchor:
        files.append(("integrity/tsa-ca.pem", anchor))
    files.append(
        ("integrity/verify_fieldvault.py", Path(ops.verify_fieldvault.__file__).read_bytes())
    )
    files.append(("integrity/README.txt", README.replace("\n", "\r\n").encode("utf-8")))
    return files


__all__ = ["integrity_files"]
