"""The generation toolkit both families decode with: input preparation and checks (`inputs`), size limits,
sampling and CFG, the delay pattern, long-form windows, negative prompts, the static cache / compiled step,
streaming and the incremental codec decode. Pure functions where possible, each tested on its own."""
