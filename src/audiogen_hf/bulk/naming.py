"""Readable, zero-padded, collision-free clip file names: `0007-a-dog-barks-v02.wav`.

Why the index leads: it makes every name unique whatever the slugs are (two prompts may slug alike), and sorts
the folder in prompts-file order.
"""

from __future__ import annotations

import re
import unicodedata

SLUG_CHARACTERS = 40


def slugify(text: str, limit: int = SLUG_CHARACTERS) -> str:
    """Lower-case ASCII words joined by '-', at most `limit` characters, cut at a word; 'clip' if nothing is
    left (a prompt in a script with no ASCII transliteration)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > limit:
            slug = slug or word[:limit]
            break
        slug = candidate
    return slug or "clip"


def digits_for(count: int, minimum: int = 1) -> int:
    """How many digits zero-padded numbers below `count` need."""
    return max(minimum, len(str(max(count - 1, 0))))


def clip_file_name(index: int, label: str, variant: int, index_digits: int, variant_digits: int) -> str:
    """`{index}-{slug of label}-v{variant}.wav`, both numbers zero-padded to the run's widths."""
    return f"{index:0{index_digits}d}-{slugify(label)}-v{variant:0{variant_digits}d}.wav"
