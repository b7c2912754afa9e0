"""AudioGen and MAGNeT (audiocraft) as native Hugging Face Transformers models.

Importing the package registers the configs, models and processor with transformers' Auto classes, so
`AutoModelForTextToWaveform`, `AutoProcessor` and `pipeline("text-to-audio")` load saved folders by path.
"""

from .core.int4 import Int4WeightOnlyLinear
from .core.modeling_decoder import AudioGenDecoder
from .core.modeling_outputs import AudioGenerationOutput, CodebookLMOutput
from .core.processing_audiogen import AudioGenProcessor
from .core.quantization import Int8WeightOnlyLinear, quantize_int4, quantize_int8, set_precision
from .defaults import DEFAULT_MAGNET_MODEL, DEFAULT_MODEL, resolve_model_name
from .generation.streaming import AudioStreamer
from .generation.threads import choose_threads
from .models.audiogen.configuration_audiogen import AudioGenConfig, AudioGenDecoderConfig
from .models.audiogen.modeling_audiogen import AudioGenForConditionalGeneration
from .models.magnet.configuration_magnet import MagnetConfig, MagnetDecoderConfig
from .models.magnet.hybrid import HybridMagnet
from .models.magnet.modeling_magnet import MagnetDecoder, MagnetForConditionalGeneration
from .registration import register

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
    "Int4WeightOnlyLinear",
    "quantize_int4",
    "choose_threads",
]
