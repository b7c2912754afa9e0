"""AudioGen and MAGNeT (audiocraft) as native Hugging Face Transformers models.

Importing the package registers the configs, models and processor with transformers' Auto classes, so
`AutoModelForTextToWaveform`, `AutoProcessor` and `pipeline("text-to-audio")` load saved folders by path.
"""

from .configuration_audiogen import AudioGenConfig, AudioGenDecoderConfig
from .configuration_magnet import MagnetConfig, MagnetDecoderConfig
from .defaults import DEFAULT_MAGNET_MODEL, DEFAULT_MODEL, resolve_model_name
from .hybrid_magnet import HybridMagnet
from .modeling_audiogen import AudioGenForConditionalGeneration
from .modeling_decoder import AudioGenDecoder
from .modeling_magnet import MagnetDecoder, MagnetForConditionalGeneration
from .modeling_outputs import AudioGenerationOutput, CodebookLMOutput
from .processing_audiogen import AudioGenProcessor
from .quantization import Int8WeightOnlyLinear, quantize_int8, set_precision
from .registration import register
from .streaming import AudioStreamer

__version__ = "0.1.0"

register()

__all__ = [
    "AudioGenConfig",
    "AudioGenDecoder",
    "AudioGenDecoderConfig",
    "AudioGenForConditionalGeneration",
    "AudioGenProcessor",
    "AudioGenerationOutput",
    "AudioStreamer",
    "CodebookLMOutput",
    "DEFAULT_MAGNET_MODEL",
    "DEFAULT_MODEL",
    "HybridMagnet",
    "Int8WeightOnlyLinear",
    "MagnetConfig",
    "MagnetDecoder",
    "MagnetDecoderConfig",
    "MagnetForConditionalGeneration",
    "quantize_int8",
    "register",
    "resolve_model_name",
    "set_precision",
]
