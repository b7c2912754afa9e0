"""Meta's seven released AudioGen / MAGNeT checkpoints, by Hub id: what the converter and the cards need to know
about each (family, text encoder, what it is)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    hub_id: str
    family: str  # "audiogen" | "magnet"
    text_encoder: str  # the T5 the checkpoint was trained with, as a Hub id
    description: str  # all seven are CC-BY-NC 4.0 (hub.model_card.META_LICENSE)

    @property
    def name(self) -> str:
        return self.hub_id.rpartition("/")[2]


_T5_BASE, _T5_LARGE = "google-t5/t5-base", "google-t5/t5-large"
RELEASES: dict[str, Release] = {
    r.hub_id: r
    for r in (
        Release(
            "facebook/audiogen-medium", "audiogen", _T5_LARGE, "AudioGen medium (1.5B), sound, 16 kHz, 10 s"
        ),
        Release(
            "facebook/magnet-small-10secs", "magnet", _T5_BASE, "MAGNeT small (300M), music, 32 kHz, 10 s"
        ),
        Release(
            "facebook/magnet-medium-10secs", "magnet", _T5_BASE, "MAGNeT medium (1.5B), music, 32 kHz, 10 s"
        ),
        Release(
            "facebook/magnet-small-30secs", "magnet", _T5_BASE, "MAGNeT small (300M), music, 32 kHz, 30 s"
        ),
        Release(
            "facebook/magnet-medium-30secs", "magnet", _T5_BASE, "MAGNeT medium (1.5B), music, 32 kHz, 30 s"
        ),
        Release(
            "facebook/audio-magnet-small",
            "magnet",
            _T5_LARGE,
            "Audio-MAGNeT small (300M), sound, 16 kHz, 10 s",
        ),
        Release(
            "facebook/audio-magnet-medium",
            "magnet",
            _T5_LARGE,
            "Audio-MAGNeT medium (1.5B), sound, 16 kHz, 10 s",
        ),
    )
}
