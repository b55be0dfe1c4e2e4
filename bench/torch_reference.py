"""The emotion2vec forward pass in plain PyTorch, for the side-by-side row of `npm run bench:torch`.

This is NOT FunASR's code: it is the same graph written from scratch with torch.nn.functional (the math the
TypeScript layers in src/layers implement), sized from a fixture's config.yaml and fed the fixture's synthetic
weights, rebuilt here from the recipe in test/fixtures/README.md ("Synthetic weights"). FunASR itself cannot be
installed in this project, so this stands in for "upstream PyTorch" when timing.

    python3 bench/torch_reference.py --fixture test/fixtures/base --check      # max |diff| vs the fixture
    python3 bench/torch_reference.py --fixture test/fixtures/large --seconds 10 --runs 3 --threads 2
    python3 bench/torch_reference.py --fixture test/fixtures/large --weights large.safetensors --seconds 10

With --weights the same weights are read from a safetensors file (float32, as `npm run bench:torch` writes it
for both sides), so that load time and memory compare with the package loading that file.

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


def read_config(fixture: Path) -> dict:
    conf = yaml.safe_load((fixture / "config.yaml").read_text())["model_conf"]
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


def alibi_bias(w: dict, cfg: dict, frames: int) -> torch.Tensor:
    """(H, E + T, E + T): -slope_h * |i - j| times the learned per-head scale (clamped at 0); zero for extra tokens."""
    slopes = torch.tensor(alibi_slopes(cfg["alibi_heads"]), dtype=torch.float32)
    position = torch.arange(frames)
    distance = (position[None, :] - position[:, None]).abs().neg().float()
    table = slopes[:, None, None] * distance
    scale = w[f"{AUDIO}.alibi_scale"].clamp(min=0).reshape(-1, 1, 1)  # one row shared by every block here
    table = table * scale
    pad_heads = cfg["heads"] - cfg["alibi_heads"]
    e = cfg["extra_tokens"]
    return F.pad(table, (e, 0, e, 0, 0, pad_heads))


def layer_norm(x, w: dict, name: str, eps: float):
    return F.layer_norm(x, x.shape[-1:], w[f"{name}.weight"], w[f"{name}.bias"], eps)


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
        h = F.gelu(F.layer_norm(h.transpose(1, 2), h.shape[1:2], eps=DEFAULT_LN_EPS)).transpose(1, 2)
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


def forward(w: dict, cfg: dict, wave: torch.Tensor) -> dict:
    """One waveform (N,) at 16 kHz -> frames (T, D), logits and scores (9,)."""
    if cfg["normalize"]:
        wave = F.layer_norm(wave, wave.shape, eps=DEFAULT_LN_EPS)
    features = conv_features(w, cfg, wave[None])
    x = layer_norm(features, w, f"{AUDIO}.project_features.1", DEFAULT_LN_EPS)
    x = F.linear(x, w[f"{AUDIO}.project_features.2.weight"], w[f"{AUDIO}.project_features.2.bias"])
    x = x + positional_encoding(w, cfg, x)
    x = torch.cat([w[f"{AUDIO}.extra_tokens"].expand(x.shape[0], -1, -1), x], dim=1)
    bias = alibi_bias(w, cfg, features.shape[1])[None]

    x = layer_norm(x, w, f"{AUDIO}.context_encoder.norm", cfg["eps"])
    for i in range(cfg["prenet_depth"]):
        x = block(w, f"{AUDIO}.context_encoder.blocks.{i}", cfg, x, bias)
    for i in range(cfg["depth"]):
        x = block(w, f"blocks.{i}", cfg, x, bias)

    frames = x[0, cfg["extra_tokens"] :]
    logits = F.linear(frames.mean(dim=0), w["proj.weight"], w["proj.bias"])
    return {"frames": frames, "logits": logits, "scores": logits.softmax(dim=-1)}


# --- parity and timing -----------------------------------------------------------------------------------------


def check_parity(w: dict, cfg: dict, fixture: Path, input_id: str) -> dict:
    wave = torch.from_numpy(np.load(fixture / f"{input_id}.wave16k.npy"))
    with torch.inference_mode():
        out = forward(w, cfg, wave)
    diff = {}
    for name in ("frames", "logits", "scores"):
        expected = torch.from_numpy(np.load(fixture / f"{input_id}.{name}.npy"))
        diff[name] = float((out[name] - expected).abs().max())
    return {"input": input_id, "max_abs_diff": diff}


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
    parser.add_argument("--weights", type=Path, help="read the weights from this safetensors file instead of rebuilding them")
    parser.add_argument("--check", action="store_true", help="compare with the fixture's reference outputs")
    parser.add_argument("--input", default="speech16k", help="fixture input id for --check")
    parser.add_argument("--seconds", type=int, default=0, help="time a forward pass on this much random audio")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    cfg = read_config(args.fixture)
    start = time.perf_counter()
    weights = read_safetensors(args.weights) if args.weights else load_synthetic_weights(args.fixture)
    report = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "weights": "file" if args.weights else "rebuilt from the hash recipe",
        "weights_ms": (time.perf_counter() - start) * 1000,
    }
    if args.check:
        report["parity"] = check_parity(weights, cfg, args.fixture, args.input)
    if args.seconds > 0:
        report["timing"] = time_forward(weights, cfg, args.seconds, args.runs)
    report["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(report))


if __name__ == "__main__":
    main()
