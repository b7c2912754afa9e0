"""Folders for the Hub: the model code exported flat next to the weights (`trust_remote_code=True` without this
package), `auto_map`, model cards, Meta's released checkpoints and uploads. One code path for every writer."""
