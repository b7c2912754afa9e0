"""Training and fine-tuning of AudioGen and MAGNeT with Accelerate (`accelerate launch training/train.py`).

Small modules with one purpose each: `args` (dataclasses + YAML/CLI parsing), `data` (reading audio and
captions), `synthetic` (the smoke runs' toy dataset), `encode` (codec pre-encoding cache), `mixing` (AudioGen's
SNR mixing augmentation), `objectives` (the two losses), `optim` (optimizer, schedules, EMA), `checkpointing`
(atomic `save_state` / resume), `modeling` (building or loading the model) and `train` (the loop).
`embedded/` holds the embedded demo models' recipe (sound world, demo codec trainer), which fine-tuning never uses.
"""
