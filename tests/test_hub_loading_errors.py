"""A wrong `--model` / `from_pretrained` name gets our message (issue 31 item 5), offline or not: never
transformers' "Repo id must be in the form ..." or a bare connection error."""

from __future__ import annotations

import pytest

from audiogen_hf import AudioGenForConditionalGeneration, AudioGenProcessor, MagnetForConditionalGeneration
from audiogen_hf.core.loading_checks import WEIGHT_FILES, hub_load_error, load_checked_source
from audiogen_hf.loading import load_model_and_processor


def _ours(message: str) -> None:
    """Our wording leads (transformers' own reason may follow in brackets, e.g. a 401); never its repo-id rule."""
    assert "Repo id must" not in message and "alphanumeric chars" not in message, message
    assert (
        "not an existing folder" in message or "Check the repo id" in message or "neither a folder" in message
    )


@pytest.mark.parametrize("name", ["/tmp/no/such/model", "./no-such-model", "../a/b/c", "not a name"])
def test_missing_folder_through_the_commands_loader(name):
    with pytest.raises(OSError) as caught:
        load_model_and_processor(name, "cpu")
    message = str(caught.value)
    assert message.startswith("--model:") and name in message
    _ours(message)


def test_unknown_hub_id_offline_through_the_commands_loader():
    with pytest.raises(OSError) as caught:
        load_model_and_processor("no-such-org/no-such-model", "cpu")
    assert "offline (HF_HUB_OFFLINE=1) and not in the local Hub cache" in str(caught.value)
    _ours(str(caught.value))


@pytest.mark.parametrize(
    "cls", [AudioGenForConditionalGeneration, MagnetForConditionalGeneration, AudioGenProcessor]
)
def test_unknown_hub_id_through_our_classes(cls):
    with pytest.raises(OSError, match="'no-such-org/no-such-model' could not be loaded") as caught:
        cls.from_pretrained("no-such-org/no-such-model")
    _ours(str(caught.value))


def test_hub_error_online_is_ours_too(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")

    def refuse(source, *args, **kwargs):
        raise OSError(f"{source} is not a local folder and is not a valid model identifier listed on the Hub")

    with pytest.raises(OSError, match="could not be loaded from the Hugging Face Hub") as caught:
        load_checked_source(refuse, "me/typo", WEIGHT_FILES, "model weights")
    assert "Check the repo id" in str(caught.value) and "me/typo" in str(caught.value)


def test_a_worded_hub_error_is_not_wrapped_again():
    """Our classes' from_pretrained already words a Hub failure; the loader around them must not wrap it twice."""
    worded = hub_load_error("me/m", OSError("me/m does not appear to have a file named model.safetensors"))

    def load(source, *args, **kwargs):
        raise worded

    with pytest.raises(OSError) as caught:
        load_checked_source(load, "me/m", WEIGHT_FILES, "model weights")
    assert caught.value is worded and str(caught.value).count("could not be loaded") == 1
