"""Whether an upload to the Hub can work, asked before the work whose result it uploads (a conversion, a
training run), so that an offline machine, a missing login or a malformed repo id fails in a second, not at
the end."""

from __future__ import annotations

import re

_REPO_ID = re.compile(r"[\w.-]+(/[\w.-]+)?")


def push_problem(repo_id: str, flag: str) -> str | None:
    """Why pushing to `repo_id` cannot work (naming the option `flag` and the fix), or None."""
    from huggingface_hub import constants, get_token

    if not _REPO_ID.fullmatch(repo_id) or repo_id.startswith((".", "-")):
        return f"{flag} {repo_id!r} is not a Hub repo id (org/name)"
    if constants.HF_HUB_OFFLINE:
        return f"{flag} needs the Hub but HF_HUB_OFFLINE is set; unset it or drop {flag}"
    if get_token() is None:
        return f"{flag} needs a Hub login; run `hf auth login` (or set HF_TOKEN) first"
    return None
