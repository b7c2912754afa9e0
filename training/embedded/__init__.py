"""The embedded demo models' recipe (`embedded_default.sh`): the procedural sound world (`sound_world`), the
small demo codec's trainer (`train_codec`, `codec_*`) and the recipe's steps (`embedded`, `embedded_card`,
`heldout_loss`), with its configs in `configs/`. A user fine-tuning AudioGen or MAGNeT never needs this folder;
the LM trainer is `training/train.py`."""
