"""What both families share: the decoder, the T5 + codec base model, outputs, the processor, loading checks,
precision / quantization and codec compatibility."""
