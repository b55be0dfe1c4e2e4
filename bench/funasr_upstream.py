"""Upstream FunASR's emotion2vec model code, timed on the bench's weights and audio: the `funasr` row of
`npm run bench:peers -- --funasr <checkout>`.

Nothing of FunASR is in this project: this script imports the `Emotion2vec` class from a FunASR checkout you
name (and its Python dependencies: omegaconf and torchaudio; kaldiio and librosa, imported by its audio loading,
are stood in for when missing), builds it from the checkpoint folder's config.yaml as FunASR does, loads model.safetensors
into it, and runs the path the fixtures were made with: waveform LayerNorm, `extract_features`, mean over
frames, `proj`, softmax.

    python3 bench/funasr_upstream.py --funasr ~/src/FunASR --checkpoint DIR --reference test/fixtures/large \\
        --seconds 10 --runs 1 --threads 2

Prints one JSON object on stdout, with the fields of bench/torch_reference.py's.
"""

import argparse
import json
import resource
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # importing torch_reference.py below leaves no __pycache__ in bench/
from torch_reference import bench_audio, blas_libraries, read_safetensors  # noqa: E402


def import_emotion2vec(checkout: Path):
    """FunASR's Emotion2vec class. FunASR's package __init__ imports every one of its submodules (and AutoModel
    with all their dependencies); the model class needs only its own modules, so the package is entered bare."""
    # kaldiio and librosa are imported at the top of FunASR's audio-loading helpers, which this script never calls
    # (it hands the model a waveform); where they are not installed (Debian packages neither), empty modules stand in.
    for name in ("kaldiio", "librosa"):
        try:
            __import__(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
    package = types.ModuleType("funasr")
    package.__path__ = [str(checkout / "funasr")]
    sys.modules["funasr"] = package
    from funasr.models.emotion2vec.model import Emotion2vec  # noqa: E402 (needs the package above)

    return Emotion2vec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--funasr", required=True, type=Path, help="a FunASR checkout (the folder holding funasr/)")
    parser.add_argument("--checkpoint", required=True, type=Path, help="config.yaml, tokens.txt, model.safetensors")
    parser.add_argument("--reference", type=Path, help="folder of <input>.wave16k/frames/scores.npy to check against")
    parser.add_argument("--input", default="speech16k")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    if not (args.funasr / "funasr" / "models" / "emotion2vec" / "model.py").is_file():
        raise SystemExit(f"{args.funasr} is not a FunASR checkout (no funasr/models/emotion2vec/model.py)")
    Emotion2vec = import_emotion2vec(args.funasr)
    from omegaconf import OmegaConf  # FunASR reads config.yaml with it (PyYAML would keep `1e-05` a string)

    conf = OmegaConf.to_container(OmegaConf.load(args.checkpoint / "config.yaml"))["model_conf"]
    labels = [line for line in (args.checkpoint / "tokens.txt").read_text().splitlines() if line.strip()]

    start = time.perf_counter()
    model = Emotion2vec(model_conf=conf, vocab_size=len(labels))
    missing, unexpected = model.load_state_dict(read_safetensors(args.checkpoint / "model.safetensors"), strict=False)
    # read_safetensors leaves out the pre-training decoder, which inference never runs.
    missing = [key for key in missing if ".decoder." not in key]
    if missing or unexpected:
        raise SystemExit(f"weights do not fit FunASR's model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.eval()
    load_ms = (time.perf_counter() - start) * 1000

    def run(wave: torch.Tensor) -> dict:
        with torch.inference_mode():
            source = F.layer_norm(wave, wave.shape) if conf.get("normalize", True) else wave
            frames = model.extract_features(source.view(1, -1), padding_mask=None)["x"]
            logits = model.proj(frames.mean(dim=1))
            return {"frames": frames[0], "scores": logits.softmax(dim=-1)[0]}

    report = {"torch": torch.__version__, "blas": blas_libraries(), "threads": torch.get_num_threads()}
    report["weights_ms"] = load_ms
    if args.reference:
        out = run(torch.from_numpy(np.load(args.reference / f"{args.input}.wave16k.npy")))
        expected = {name: torch.from_numpy(np.load(args.reference / f"{args.input}.{name}.npy")) for name in out}
        diff = {name: float((out[name] - expected[name]).abs().max()) for name in out}
        report["parity"] = {"input": args.input, "reference": str(args.reference), "max_abs_diff": diff}
    if args.seconds > 0:
        wave = bench_audio(args.seconds)
        run(wave)  # warm-up
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            run(wave)
            times.append((time.perf_counter() - start) * 1000)
        report["timing"] = {"seconds": args.seconds, "runs_ms": times, "median_ms": statistics.median(times)}
    report["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(report))


if __name__ == "__main__":
    main()
