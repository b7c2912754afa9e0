"""The README.md (model card) of every folder this package writes: Hub metadata that validates offline, a
usage snippet that works with and without the package, and the measured facts the writer knows."""

from __future__ import annotations

from dataclasses import dataclass, field

GENERATED_CARD_MARK = (
    "<!-- audiogen-hf card: rewritten when the folder is saved again; delete this line to keep edits -->"
)
META_LICENSE = "cc-by-nc-4.0"
FAMILY_NAMES = {"audiogen": "AudioGen", "magnet": "MAGNeT"}


class ModelCardError(ValueError):
    """Card metadata the Hub would reject or that misleads users; the message names the fix."""


@dataclass
class CardFacts:
    """What a writer knows about the weights it saves; `render_model_card` turns it into a card."""

    family: str
    title: str = ""
    summary: str = ""
    license: str = "other"
    license_name: str | None = "unspecified"
    license_link: str | None = None
    base_model: str | None = None
    base_model_relation: str | None = None
    datasets: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    measured: list[str] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)


def card_metadata(facts: CardFacts):
    """The YAML block as huggingface_hub's `ModelCardData` (checked: a license, `license_name` for `other`)."""
    from huggingface_hub import ModelCardData

    if facts.family not in FAMILY_NAMES:
        raise ModelCardError(
            f"unknown model family '{facts.family}'; expected one of {sorted(FAMILY_NAMES)}."
        )
    if not facts.license:
        raise ModelCardError(
            "the card needs a license (e.g. cc-by-nc-4.0, mit, apache-2.0, or other + a name)."
        )
    if facts.license == "other" and not facts.license_name:
        raise ModelCardError(
            "license 'other' needs a license_name (the Hub requires it); give the licence's name."
        )
    extra = {"license_name": facts.license_name} if facts.license == "other" else {}
    if facts.license == "other" and facts.license_link:
        extra["license_link"] = facts.license_link
    if facts.base_model and facts.base_model_relation:
        extra["base_model_relation"] = facts.base_model_relation
    tags = list(dict.fromkeys(["audiogen-hf", facts.family, "text-to-audio", "custom_code", *facts.tags]))
    return ModelCardData(
        library_name="transformers",
        pipeline_tag="text-to-audio",
        license=facts.license,
        base_model=facts.base_model or None,
        datasets=facts.datasets or None,
        tags=tags,
        **extra,
    )


USAGE = """## Usage

Without `audiogen-hf` installed (the model code ships in this repository, so transformers needs
`trust_remote_code=True`):

```python
from transformers import AutoModelForTextToWaveform, AutoProcessor

model = AutoModelForTextToWaveform.from_pretrained("{repo}", trust_remote_code=True)
processor = AutoProcessor.from_pretrained("{repo}", trust_remote_code=True)
audio = model.generate(**processor(text=["a dog barks in the rain"]))  # [batch, 1, samples]
sampling_rate = model.config.sampling_rate
```

With `pip install audiogen-hf`, `import audiogen_hf` registers the classes and `trust_remote_code` is not
needed; the same folder also works with `pipeline("text-to-audio", model="{repo}", trust_remote_code=True)`.
`generate(..., return_dict_in_generate=True)` gives `.audio` and `.sequences` (the codec codes, not audio).
"""


def render_model_card(facts: CardFacts, repo: str = "<this repo or folder>") -> str:
    """The card's text; `validate_model_card` accepts it."""
    data = card_metadata(facts)
    family = FAMILY_NAMES[facts.family]
    title = facts.title or f"{family} (audiogen-hf)"
    parts = [f"---\n{data.to_yaml()}\n---", GENERATED_CARD_MARK, f"# {title}"]
    if facts.summary:
        parts.append(facts.summary.strip())
    licence = facts.license_name if facts.license == "other" else facts.license
    parts.append(f"Licence of the weights: `{licence}`.")
    parts.append(USAGE.format(repo=repo).strip())
    if facts.measured:
        parts.append("## Measured\n\n" + "\n".join(f"- {line}" for line in facts.measured))
    parts.extend(f"## {heading}\n\n{body.strip()}" for heading, body in facts.sections.items())
    text = "\n\n".join(parts) + "\n"
    validate_model_card(text)
    return text


REQUIRED_METADATA = ("library_name", "pipeline_tag", "license", "tags")


def validate_model_card(text: str):
    """Parse the card with huggingface_hub (offline) and check the metadata the Hub and this package rely
    on; returns the `ModelCard`."""
    from huggingface_hub import ModelCard

    try:
        card = ModelCard(text, ignore_metadata_errors=False)
    except Exception as error:  # huggingface_hub raises ValueError / YAML errors
        raise ModelCardError(f"the model card's metadata does not parse: {error}") from error
    meta = card.data.to_dict()
    missing = [key for key in REQUIRED_METADATA if not meta.get(key)]
    if missing:
        raise ModelCardError(f"the model card lacks {missing}; write it with render_model_card().")
    if meta["pipeline_tag"] != "text-to-audio":
        raise ModelCardError(f"pipeline_tag must be text-to-audio, got {meta['pipeline_tag']!r}.")
    if meta["license"] == "other" and not meta.get("license_name"):
        raise ModelCardError("license: other needs license_name.")
    return card


def is_generated_card(text: str) -> bool:
    return GENERATED_CARD_MARK in text
