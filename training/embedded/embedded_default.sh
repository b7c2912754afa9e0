#!/usr/bin/env bash
# Rebuild the embedded default models (issue 6) from nothing, on 2 CPU cores, in under an hour:
#   1. data          the LMs' dataset: 2 s sound-world clips with captions (training/embedded/embedded.py data),
#                    made on the core the codec leaves idle when the codec is trained
#   2. codec         a small 16 kHz EnCodec (training/embedded/train_codec.py, training/embedded/configs/codec.yaml), step-bound
#   3. text_encoder  a frozen random tiny T5 encoder + a word-level tokenizer covering every caption word
#   4. init          untrained AudioGen and MAGNeT folders around the codec and the text encoder
#   5. codes         the dataset encoded once by the codec (train.py --encode_only, two processes), for both LMs
#      lms           training/train.py with training/embedded/configs/default_{audiogen,magnet}.yaml, side by side
#      polish        meanwhile, the codec's decoder alone on frozen codes (training/embedded/configs/codec_polish.yaml:
#                    noise colour; the codes, so the LMs' data, do not change), then
#      ceiling       the judge on codec reconstructions of dataset clips (the LMs' adherence ceiling)
#   6. package       copy into src/audiogen_hf/default_models/{audiogen,magnet} with the polished decoder,
#                    judge, write the model cards
#
#   bash training/embedded/embedded_default.sh            # everything
#   REUSE_CODEC=1 bash training/embedded/embedded_default.sh   # keep training/artifacts/codec if it exists
#   REUSE_CODEC=polish bash training/embedded/embedded_default.sh   # keep the base codec, redo the polish
#   REUSE_CODEC=1 ART=/tmp/smoke SHIP=/tmp/smoke/ship NUM_CLIPS=40 LM_ARGS="--max_steps 2" JUDGE_CLIPS=1 \
#       bash training/embedded/embedded_default.sh            # a smoke run of every stage in ~2 minutes
#   (add CODEC=/tmp/smoke/codec CODEC_BASE=/tmp/smoke/codec_base REUSE_CODEC=0 CODEC_ARGS="--max_steps 3" to
#   smoke the two codec stages too)
#
# THREADS (default 1: on a shared 2-core machine one thread per job was 2-4x faster than two) sets the torch
# threads of the LM stages (the codec uses its config's); stage wall times go to
# training/artifacts/embedded/timings.json and into the model cards.
set -euo pipefail
cd "$(dirname "$0")/../.."

THREADS="${THREADS:-1}"
export OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS" TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
ART="${ART:-training/artifacts/embedded}"
CODEC="${CODEC:-training/artifacts/codec}"
CODEC_BASE="${CODEC_BASE:-training/artifacts/codec_base}"
SHIP="${SHIP:-src/audiogen_hf/default_models}"
NUM_CLIPS="${NUM_CLIPS:-12000}"
LM_ARGS="${LM_ARGS:-}"  # extra train.py flags for both LMs, e.g. "--max_steps 2" for a smoke run
CODEC_ARGS="${CODEC_ARGS:-}"  # extra train_codec.py flags for the codec and its polish, e.g. "--max_steps 3"
JUDGE_CLIPS="${JUDGE_CLIPS:-8}"
RUN="nice -n 5 python"
TIMINGS="$ART/timings.json"

mkdir -p "$ART"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT  # a failed stage must not leave a background job training
[[ "${KEEP_TIMINGS:-0}" == 1 && -f "$TIMINGS" ]] || echo '{}' > "$TIMINGS"

stage() {  # stage NAME COMMAND...: run it and record its wall time (a stage run beside another: "NAME (beside ...)")
    local name=$1 start=$SECONDS
    shift
    echo "=== $name"
    "$@" || { local status=$?; echo "=== $name failed"; return "$status"; }  # also where set -e is off (a || b)
    flock "$TIMINGS.lock" python - "$TIMINGS" "$name" "$((SECONDS - start))" <<'EOF'
import json, sys
path, name, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
timings = json.load(open(path))
timings[name] = seconds
json.dump(timings, open(path, "w"), indent=2)
print(f"=== {name}: {seconds / 60:.1f} min")
EOF
}

rm -rf "$ART/data" "$ART/codes_cache" "$ART/codes_cache_audiogen" "$ART/codes_cache_magnet" "$ART/codes_run" \
    "$ART/text_encoder" "$ART/init_audiogen" "$ART/init_magnet" "$ART/audiogen" "$ART/magnet"

data() {
    $RUN training/embedded/embedded.py data "$ART/data" --num-clips "$NUM_CLIPS" --seed 100
}

polish() {  # the decoder alone on frozen codes: the LMs' codes are the same before and after it
    # shellcheck disable=SC2086
    $RUN training/embedded/train_codec.py --config training/embedded/configs/codec_polish.yaml --init_from "$CODEC_BASE" \
        --output_dir "$CODEC" $CODEC_ARGS > "$ART/polish.log" 2>&1 \
        || { echo "the polish failed: $ART/polish.log"; tail -n 20 "$ART/polish.log"; return 1; }
}
ceiling() {  # how well the judge still recognises dataset clips after the codec: the LMs' best case
    $RUN training/embedded/embedded.py ceiling "$CODEC" "$ART/data" --output "$ART/codec_ceiling.json" \
        > "$ART/ceiling.log" 2>&1 || { echo "the ceiling failed: $ART/ceiling.log"; return 1; }
}
polish_job=""
if [[ "${REUSE_CODEC:-0}" == 1 && -f "$CODEC/model.safetensors" ]]; then
    stage data data
    echo "=== codec: reusing $CODEC"
    python - "$TIMINGS" "$CODEC_BASE/report.json" "$CODEC/report.json" <<'EOF'
import json, os, sys
timings = json.load(open(sys.argv[1]))
for name, path in (("codec (reused)", sys.argv[2]), ("polish (reused)", sys.argv[3])):
    if os.path.isfile(path):
        timings[name] = round(60 * json.load(open(path))["train_minutes"])
json.dump(timings, open(sys.argv[1], "w"), indent=2)
EOF
    stage ceiling ceiling
    INIT_CODEC="$CODEC"
else
    # the data needs no codec, and the codec trains on one core: make it on the other
    stage "data (beside the codec)" data & data_job=$!
    if [[ "${REUSE_CODEC:-0}" == polish && -f "$CODEC_BASE/model.safetensors" ]]; then
        echo "=== codec: reusing the base codec $CODEC_BASE"
    else
        # shellcheck disable=SC2086
        stage codec $RUN training/embedded/train_codec.py --config training/embedded/configs/codec.yaml --output_dir "$CODEC_BASE" \
            $CODEC_ARGS
    fi
    wait "$data_job" || { echo "the data stage failed"; exit 1; }
    # the polish (one core) freezes the encoder and codebooks, so the LMs train on the base codec's codes
    # meanwhile, and `package` installs the polished decoder (refusing a codec whose codes differ)
    { stage "polish (beside the LMs)" polish && stage "ceiling (beside the LMs)" ceiling; } & polish_job=$!
    INIT_CODEC="$CODEC_BASE"
fi

stage text_encoder $RUN training/embedded/embedded.py text-encoder "$ART/text_encoder" --seed 0

init() {
    $RUN training/embedded/embedded.py init "$ART/init_audiogen" --family audiogen --codec "$INIT_CODEC" \
        --text-encoder "$ART/text_encoder" --hidden-size 128 --num-layers 4 --num-heads 4
    $RUN training/embedded/embedded.py init "$ART/init_magnet" --family magnet --codec "$INIT_CODEC" \
        --text-encoder "$ART/text_encoder" --hidden-size 128 --num-layers 4 --num-heads 4
}
stage init init

codes() {  # one codes cache for both LMs (same codec, same data): encoded once, split over two processes
    ACCELERATE_USE_CPU=true $RUN -m accelerate.commands.launch --multi_gpu --num_processes 2 --num_machines 1 \
        --mixed_precision no --dynamo_backend no training/train.py --config training/embedded/configs/default_audiogen.yaml \
        --model_name_or_path "$ART/init_audiogen" --audio_folder "$ART/data" --encode_cache_dir "$ART/codes_cache" \
        --output_dir "$ART/codes_run" --encode_only true > "$ART/codes.log" 2>&1 \
        || { echo "encoding failed: $ART/codes.log"; tail -n 20 "$ART/codes.log"; return 1; }
}
stage codes codes

train() {  # train FAMILY: the config's run, with this recipe's folders (so ART can move)
    # shellcheck disable=SC2086
    $RUN training/train.py --config "training/embedded/configs/default_$1.yaml" --model_name_or_path "$ART/init_$1" \
        --audio_folder "$ART/data" --encode_cache_dir "$ART/codes_cache" --output_dir "$ART/$1" \
        --overwrite_output_dir $LM_ARGS > "$ART/train_$1.log" 2>&1  # a rebuild replaces the last one
}
for_both() {  # for_both FUNCTION WHAT: FUNCTION audiogen and FUNCTION magnet side by side, one thread each
    "$1" audiogen & local audiogen=$!
    "$1" magnet & local magnet=$!
    local failed=0
    wait "$audiogen" || { failed=1; echo "$2 failed for AudioGen"; }
    wait "$magnet" || { failed=1; echo "$2 failed for MAGNeT"; }
    return "$failed"
}
both_lms() {  # ~half the wall time of one after the other
    local failed=0
    for_both train training || { failed=1; echo "logs: $ART/train_audiogen.log, $ART/train_magnet.log"; }
    tail -n 3 "$ART/train_audiogen.log" "$ART/train_magnet.log"
    return "$failed"
}
stage lms both_lms
if [[ -n "$polish_job" ]]; then  # normally done by now: this stage is the time the LMs did not cover
    stage "polish wait" wait "$polish_job" || { echo "the polish or the ceiling failed (see above)"; exit 1; }
fi

package_one() {  # package_one FAMILY: copy, judge on three seeds, write the card
    $RUN training/embedded/embedded.py package "$ART/$1" "$SHIP/$1" --family "$1" \
        --codec "$CODEC" --data "$ART/data" --timings "$TIMINGS" --clips-per-template "$JUDGE_CLIPS" \
        --ceiling "$ART/codec_ceiling.json"
}
stage package for_both package_one packaging
du -sh "$SHIP"/*
python - "$TIMINGS" "$SECONDS" <<'EOF'
import json, sys
timings = json.load(open(sys.argv[1]))
stages = sum(seconds for name, seconds in timings.items() if "(beside" not in name)
print(f"stages: {stages / 60:.1f} min, wall clock {int(sys.argv[2]) / 60:.1f} min " + json.dumps(timings))
EOF
