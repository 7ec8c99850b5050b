"""Which slice of a class one grading process takes: `course.py grade ... --shard K/M`.

Shards are numbered from 1: `--shard 1/3`, `2/3` and `3/3` together grade every student
once. A student's shard is the SHA-256 of the student folder's name as submitted (its bytes,
not the id it is graded under) modulo M, plus 1: the same folder always lands in the same shard,
whichever machine reads the submissions and whenever (a late submission is graded by the
shard that graded the first), and the shards are disjoint.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    """The K-th (1-based) of M disjoint slices of the students."""
    index: int
    count: int

    def __post_init__(self):
        if not 1 <= self.index <= self.count:
            raise ValueError(f"shard {self.index}/{self.count}: K must be between 1 and M "
                             f"(shards are numbered 1..{max(self.count, 1)})")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """A shard from "K/M", e.g. "2/3"; ValueError naming the text if it is not one."""
        match = SHARD.fullmatch(text or "")
        if not match:
            raise ValueError(f"shard {text!r}: expected K/M, e.g. 1/3 (shards are numbered from 1)")
        return cls(int(match[1]), int(match[2]))

    def holds(self, folder_name: str) -> bool:
        """Whether the student folder of this name is graded by this shard."""
        return shard_of(folder_name, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(folder_name: str, count: int) -> int:
    """The shard (1..count) of the student folder named `folder_name` (a name read from the file
    system: its bytes are hashed, so that an undecodable name has a shard too)."""
    digest = hashlib.sha256(os.fsencode(folder_name)).digest()
    return int.from_bytes(digest, "big") % count + 1
