"""The emotion2vec forward pass in plain PyTorch, for the PyTorch and ONNX rows of `npm run bench:peers`.

This is NOT FunASR's code: it is the same graph written from scratch with torch.nn.functional (the math the
TypeScript layers in src/layers implement), sized from a fixture's config.yaml and fed the fixture's synthetic
weights, rebuilt here from the recipe in test/fixtures/README.md ("Synthetic weights"). It stands in for
upstream PyTorch where FunASR is not installed, and its module is what the ONNX export is made from.

    python3 bench/torch_reference.py --fixture test/fixtures/base --check      # max |diff| vs the fixture
    python3 bench/torch_reference.py --fixture test/fixtures/large --seconds 10 --runs 3 --threads 2
    python3 bench/torch_reference.py --fixture test/fixtures/large --weights large.safetensors --seconds 10
    python3 bench/torch_reference.py --fixture test/fixtures/large --config other/config.yaml \
        --weights other/model.safetensors --save-outputs out/          # this graph's outputs as a reference
    python3 bench/torch_reference.py --fixture test/fixtures/large --weights large.safetensors --export-onnx large.onnx

With --weights the same weights are read from a safetensors file (float32, as `npm run bench:peers` writes it
for every runtime), so that load time and memory compare with the package loading that file; --config then
names its config.yaml (default: the fixture's). `alibi_scale` with one row per block (config
`learned_alibi_scale_per_layer: true`) scales each block's table with its own row, prenet blocks first, as upstream.

Prints one JSON object on stdout. Needs torch, numpy and PyYAML (Debian: python3-torch python3-numpy python3-yaml).
"""

import argparse
import json
import math
import re
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

AUDIO = "modality_encoders.AUDIO"
SAMPLE_RATE = 16000
DEFAULT_LN_EPS = 1e-5  # the CNN's and the positional encoder's LayerNorms, and the waveform norm


# --- synthetic weights (test/fixtures/README.md) ---------------------------------------------------------------


def fnv1a32(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def lowbias32(x: np.ndarray) -> np.ndarray:
    """Element-wise on uint32 arrays; numpy's uint32 products wrap mod 2^32, as the recipe wants."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def scale_rule(key: str, shape: list) -> tuple:
    """(s, c) of the README's table; first match wins."""
    if key.endswith("extra_tokens"):
        return 0.5, 0.0
    if key.endswith("alibi_scale"):
        return 0.25, 1.0
    if len(shape) == 1:
        return (0.1, 1.0) if key.endswith(".weight") else (0.05, 0.0)
    fan_in = math.prod(shape[1:])
    return (8 if key == "proj.weight" else 1) / math.sqrt(fan_in), 0.0


def synthetic_tensor(salt: str, key: str, shape: list) -> torch.Tensor:
    n = math.prod(shape)
    seed = np.uint32(fnv1a32(f"{salt}:{key}"))
    index = np.arange(n, dtype=np.uint32)
    x = lowbias32(index * np.uint32(0x9E3779B9) + seed)
    v = 2.0 * ((x >> np.uint32(8)).astype(np.float64) / 16777216.0) - 1.0
    s, c = scale_rule(key, shape)
    return torch.from_numpy((v * s + c).astype(np.float32).reshape(shape))


def load_synthetic_weights(fixture: Path) -> dict:
    """Every key the forward pass uses (the pre-training decoder's are skipped: inference never reads them)."""
    salt = json.loads((fixture / "manifest.json").read_text())["salt"]
    keys = json.loads((fixture / "state_dict_keys.json").read_text())
    return {e["key"]: synthetic_tensor(salt, e["key"], e["shape"]) for e in keys if ".decoder." not in e["key"]}


def read_safetensors(path: Path) -> dict:
    """A float32 safetensors file (8-byte little-endian header length, JSON header, raw data), read into memory."""
    with path.open("rb") as file:
        header_length = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(header_length))
        data_start = 8 + header_length
        weights = {}
        for key, entry in header.items():
            if key == "__metadata__" or ".decoder." in key:
                continue
            if entry["dtype"] != "F32":
                raise ValueError(f"{key}: dtype {entry['dtype']}, expected F32")
            begin, end = entry["data_offsets"]
            file.seek(data_start + begin)
            values = np.fromfile(file, dtype="<f4", count=(end - begin) // 4)
            weights[key] = torch.from_numpy(values.reshape(entry["shape"]))
    return weights


# --- config ----------------------------------------------------------------------------------------------------


def parse_feature_spec(text: str) -> list:
    """'[(512, 10, 5)] + [(512, 3, 2)] * 4 + ...' -> [(channels, kernel, stride), ...], without eval."""
    layers = []
    for term in text.split("+"):
        match = re.fullmatch(r"\s*\[\s*\((\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)\s*\]\s*(?:\*\s*(\d+))?\s*", term)
        if not match:
            raise ValueError(f"feature_encoder_spec term not understood: {term!r}")
        layers += [tuple(int(g) for g in match.groups()[:3])] * int(match.group(4) or 1)
    return layers


def read_config(path: Path) -> dict:
    conf = yaml.safe_load(path.read_text())["model_conf"]
    audio = conf["modalities"]["audio"]
    return {
        "dim": conf["embed_dim"],
        "heads": conf["num_heads"],
        "depth": conf["depth"],
        "eps": float(conf["norm_eps"]),
        "normalize": conf.get("normalize", True),
        "prenet_depth": audio["prenet_depth"],
        "extra_tokens": audio["num_extra_tokens"],
        "alibi_heads": audio.get("num_alibi_heads", conf["num_heads"]),
        "cnn": parse_feature_spec(audio["feature_encoder_spec"]),
        "pos_depth": audio["conv_pos_depth"],
        "pos_kernel": max(3, audio["conv_pos_width"] // audio["conv_pos_depth"]),
        "pos_groups": audio["conv_pos_groups"],
    }


# --- the forward pass ------------------------------------------------------------------------------------------


def alibi_slopes(heads: int) -> list:
    """ALiBi slopes; a non-power-of-two count takes the lower power's slopes, then every other one of twice it."""

    def geometric(n: int) -> list:
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(heads).is_integer():
        return geometric(heads)
    lower = 2 ** math.floor(math.log2(heads))
    return geometric(lower) + alibi_slopes(2 * lower)[0::2][: heads - lower]


def alibi_biases(w: dict, cfg: dict, frames: int):
    """Yields the (1, H, E + T, E + T) bias of each block in order, prenet first: -slope_h * |i - j| times the
    learned per-head scale (clamped at 0), zero for extra tokens. A scale with one row is applied once and the
    same tensor serves every block; one row per block scales each block's table when that block asks for it
    (so one scaled table is held at a time), as upstream does."""
    slopes = torch.tensor(alibi_slopes(cfg["alibi_heads"]), dtype=torch.float32)
    position = torch.arange(frames)
    distance = (position[None, :] - position[:, None]).abs().neg().float()
    table = slopes[:, None, None] * distance
    scale = w[f"{AUDIO}.alibi_scale"].clamp(min=0)
    # (rows, heads or 1, 1, 1), from (rows, 1, heads, 1, 1) or the old 4-D layout
    rows = scale.reshape(scale.shape[0], -1, 1, 1)
    pad = (cfg["extra_tokens"], 0, cfg["extra_tokens"], 0, 0, cfg["heads"] - cfg["alibi_heads"])
    blocks = cfg["prenet_depth"] + cfg["depth"]
    if rows.shape[0] not in (1, blocks):
        raise ValueError(f"alibi_scale has {rows.shape[0]} rows for {blocks} blocks")
    shared = F.pad(table * rows[0], pad)[None] if rows.shape[0] == 1 else None
    for block in range(blocks):
        yield shared if shared is not None else F.pad(table * rows[block], pad)[None]


def layer_norm(x, w: dict, name: str, eps: float):
    # int(): the channel count is fixed, and the ONNX exporter needs it as a constant, not a traced size.
    return F.layer_norm(x, (int(x.shape[-1]),), w[f"{name}.weight"], w[f"{name}.bias"], eps)


def conv_features(w: dict, cfg: dict, wave: torch.Tensor) -> torch.Tensor:
    """(B, N) samples -> (B, T, C): bias-free Conv1d, LayerNorm over channels, GELU, per layer."""
    x = wave[:, None, :]
    for i, (_, _, stride) in enumerate(cfg["cnn"]):
        prefix = f"{AUDIO}.local_encoder.conv_layers.{i}"
        x = F.conv1d(x, w[f"{prefix}.0.weight"], stride=stride)
        x = F.gelu(layer_norm(x.transpose(1, 2), w, f"{prefix}.2.1", DEFAULT_LN_EPS)).transpose(1, 2)
    return x.transpose(1, 2)


def positional_encoding(w: dict, cfg: dict, x: torch.Tensor) -> torch.Tensor:
    """Grouped Conv1d stack, each followed by LayerNorm (no affine) and GELU; same length out as in."""
    k = cfg["pos_kernel"]
    h = x.transpose(1, 2)
    for i in range(1, cfg["pos_depth"] + 1):
        prefix = f"{AUDIO}.relative_positional_encoder.{i}.0"
        h = F.conv1d(h, w[f"{prefix}.weight"], w[f"{prefix}.bias"], padding=k // 2, groups=cfg["pos_groups"])
        if k % 2 == 0:
            h = h[:, :, :-1]  # an even kernel gives one frame too many
        h = F.gelu(F.layer_norm(h.transpose(1, 2), (int(h.shape[1]),), eps=DEFAULT_LN_EPS)).transpose(1, 2)
    return h.transpose(1, 2)


def attention(w: dict, prefix: str, heads: int, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    b, n, d = x.shape
    qkv = F.linear(x, w[f"{prefix}.qkv.weight"], w[f"{prefix}.qkv.bias"])
    q, k, v = qkv.reshape(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)  # each (B, H, N, d_head)
    scores = (q * (d // heads) ** -0.5) @ k.transpose(-2, -1) + bias
    context = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, d)
    return F.linear(context, w[f"{prefix}.proj.weight"], w[f"{prefix}.proj.bias"])


def block(w: dict, prefix: str, cfg: dict, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Post-norm Transformer block: norm1(x + attention), then norm2(x + MLP)."""
    x = layer_norm(x + attention(w, f"{prefix}.attn", cfg["heads"], x, bias), w, f"{prefix}.norm1", cfg["eps"])
    hidden = F.gelu(F.linear(x, w[f"{prefix}.mlp.fc1.weight"], w[f"{prefix}.mlp.fc1.bias"]))
    mlp = F.linear(hidden, w[f"{prefix}.mlp.fc2.weight"], w[f"{prefix}.mlp.fc2.bias"])
    return layer_norm(x + mlp, w, f"{prefix}.norm2", cfg["eps"])


def normalize_waveform(wave: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the whole waveform, as upstream (F.layer_norm(wave, wave.shape)). The ONNX exporter cannot
    take a length-dependent normalized_shape, so the export writes the formula out (mean, biased variance): it
    differs by float32 rounding (4.8e-7 on the fixtures' waveforms) and is checked against the reference."""
    if not torch.onnx.is_in_onnx_export():
        return F.layer_norm(wave, wave.shape, eps=DEFAULT_LN_EPS)
    centred = wave - wave.mean()
    return centred / torch.sqrt((centred * centred).mean() + DEFAULT_LN_EPS)


def forward(w: dict, cfg: dict, wave: torch.Tensor) -> dict:
    """One waveform (N,) at 16 kHz -> frames (T, D), logits and scores (9,)."""
    if cfg["normalize"]:
        wave = normalize_waveform(wave)
    features = conv_features(w, cfg, wave[None])
    x = layer_norm(features, w, f"{AUDIO}.project_features.1", DEFAULT_LN_EPS)
    x = F.linear(x, w[f"{AUDIO}.project_features.2.weight"], w[f"{AUDIO}.project_features.2.bias"])
    x = x + positional_encoding(w, cfg, x)
    x = torch.cat([w[f"{AUDIO}.extra_tokens"].expand(x.shape[0], -1, -1), x], dim=1)
    biases = alibi_biases(w, cfg, features.shape[1])

    x = layer_norm(x, w, f"{AUDIO}.context_encoder.norm", cfg["eps"])
    for i in range(cfg["prenet_depth"]):
        x = block(w, f"{AUDIO}.context_encoder.blocks.{i}", cfg, x, next(biases))
    for i in range(cfg["depth"]):
        x = block(w, f"blocks.{i}", cfg, x, next(biases))

    frames = x[0, cfg["extra_tokens"] :]
    logits = F.linear(frames.mean(dim=0), w["proj.weight"], w["proj.bias"])
    return {"frames": frames, "logits": logits, "scores": logits.softmax(dim=-1)}


# --- parity and timing -----------------------------------------------------------------------------------------


def reference_outputs(w: dict, cfg: dict, reference: Path, input_id: str) -> dict:
    """This graph's frames, logits and scores on a reference input (its <input>.wave16k.npy)."""
    wave = torch.from_numpy(np.load(reference / f"{input_id}.wave16k.npy"))
    with torch.inference_mode():
        out = forward(w, cfg, wave)
    return {"wave16k": wave, **out}


def save_outputs(outputs: dict, folder: Path, input_id: str) -> None:
    """Writes <input>.wave16k/frames/logits/scores.npy: a reference for a config the fixtures lack."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, tensor in outputs.items():
        np.save(folder / f"{input_id}.{name}.npy", tensor.numpy())


def max_abs_diff(outputs: dict, reference: Path, input_id: str) -> dict:
    """Max |diff| of frames, logits and scores against the reference's."""
    diff = {}
    for name in ("frames", "logits", "scores"):
        expected = torch.from_numpy(np.load(reference / f"{input_id}.{name}.npy"))
        diff[name] = float((outputs[name] - expected).abs().max())
    return {"input": input_id, "reference": str(reference), "max_abs_diff": diff}


def blas_libraries() -> list:
    """The BLAS this process runs on (Debian's torch calls whatever libblas.so.3 points to: the reference BLAS is
    some 40x slower than OpenBLAS here), as the shared objects it has mapped."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.lower() or "mkl" in line.lower()}
    return sorted(str(Path(p).resolve()) for p in paths if p.startswith("/"))


class GraphModule(torch.nn.Module):
    """forward() as a module, weights as buffers (initializers once exported): waveform (N,) -> frames, scores."""

    def __init__(self, w: dict, cfg: dict):
        super().__init__()
        self.cfg = cfg
        self.keys = list(w)
        for i, key in enumerate(self.keys):
            self.register_buffer(f"w{i}", w[key])  # buffer names cannot hold dots

    def forward(self, wave: torch.Tensor):
        out = forward({key: getattr(self, f"w{i}") for i, key in enumerate(self.keys)}, self.cfg, wave)
        return out["frames"], out["scores"]


def export_onnx(w: dict, cfg: dict, example: torch.Tensor, path: Path) -> dict:
    """Traces this graph with torch.onnx.export (opset 16), the waveform's length and the frame count dynamic."""
    start = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(
            GraphModule(w, cfg),
            (example,),
            str(path),
            input_names=["waveform"],
            output_names=["frames", "scores"],
            dynamic_axes={"waveform": {0: "samples"}, "frames": {0: "frames"}},
            opset_version=16,
            do_constant_folding=True,
        )
    return {"path": str(path), "bytes": path.stat().st_size, "export_ms": (time.perf_counter() - start) * 1000}


def bench_audio(seconds: int) -> torch.Tensor:
    """The samples `npm run bench` times: randomArray(n, seed = seconds) of test/support/fixtures.ts, times 0.1."""
    state = seconds
    samples = np.empty(seconds * SAMPLE_RATE, dtype=np.float32)
    for i in range(samples.size):
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        samples[i] = state / 2**31 - 1
    return torch.from_numpy((samples.astype(np.float64) * 0.1).astype(np.float32))  # as JS: float64 product, stored as float32


def time_forward(w: dict, cfg: dict, seconds: int, runs: int) -> dict:
    wave = bench_audio(seconds)
    samples = []
    with torch.inference_mode():
        forward(w, cfg, wave)  # warm-up
        for _ in range(runs):
            start = time.perf_counter()
            forward(w, cfg, wave)
            samples.append((time.perf_counter() - start) * 1000)
    return {"seconds": seconds, "runs_ms": samples, "median_ms": statistics.median(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixture", required=True, type=Path, help="test/fixtures/base or test/fixtures/large")
    parser.add_argument("--config", type=Path, help="config.yaml to size the graph from (default: the fixture's)")
    parser.add_argument("--weights", type=Path, help="read the weights from this safetensors file instead of rebuilding them")
    parser.add_argument("--check", action="store_true", help="compare with the reference outputs (--reference)")
    parser.add_argument("--reference", type=Path, help="folder of <input>.{wave16k,frames,logits,scores}.npy")
    parser.add_argument("--input", default="speech16k", help="reference input id for --check")
    parser.add_argument("--save-outputs", type=Path, help="write this graph's outputs on the reference input here")
    parser.add_argument("--export-onnx", type=Path, help="write the graph as ONNX (traced on the reference input)")
    parser.add_argument("--seconds", type=int, default=0, help="time a forward pass on this much random audio")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    cfg = read_config(args.config or args.fixture / "config.yaml")
    reference = args.reference or args.fixture
    start = time.perf_counter()
    weights = read_safetensors(args.weights) if args.weights else load_synthetic_weights(args.fixture)
    report = {
        "torch": torch.__version__,
        "blas": blas_libraries(),
        "threads": torch.get_num_threads(),
        "weights": "file" if args.weights else "rebuilt from the hash recipe",
        "weights_ms": (time.perf_counter() - start) * 1000,
    }
    if args.check or args.save_outputs:
        outputs = reference_outputs(weights, cfg, reference, args.input)
        if args.save_outputs:
            save_outputs(outputs, args.save_outputs, args.input)
        if args.check:
            report["parity"] = max_abs_diff(outputs, reference, args.input)
    if args.export_onnx:
        example = torch.from_numpy(np.load(reference / f"{args.input}.wave16k.npy"))
        report["onnx"] = export_onnx(weights, cfg, example, args.export_onnx)
    if args.seconds > 0:
        report["timing"] = time_forward(weights, cfg, args.seconds, args.runs)
    report["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(report))


if __name__ == "__main__":
    main()
