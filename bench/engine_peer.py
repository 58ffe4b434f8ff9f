#!/usr/bin/python3
"""PyTorch peer of `LoraGrains.Bench engine`: one SD 1.5 UNet step or one VAE decode, timed the same way.

diffusers cannot be installed on the benchmark machine (no PyPI), so this is a compact re-implementation of
diffusers' UNet2DConditionModel (SD 1.5 config) and AutoencoderKL decoder with the same modules, shapes and op
sequence as diffusers runs them on torch < 2 (AttnProcessor: baddbmm-softmax-bmm, no fused SDPA), random
weights (PyTorch's default init), float32, under torch.inference_mode. Numerics are not meant to match
LoraGrains'; FLOPs and ops are.

Run one case per process, so that peak memory is that case's alone:
  /usr/bin/python3 bench/engine_peer.py --case unet64 --threads 2 --iterations 3 --warmup 1
prints one JSON line: {"torch", "threads", "case", "median_ms", "times_ms", "cpu_user_s", "cpu_sys_s",
"peak_rss_mb", "build_rss_mb", "run_peak_rss_mb", "loadavg"}. With --serve (how LoraGrains.Bench runs it) it
builds the model, answers {"ready": true}, then one JSON line per "run" line on stdin ({"ms", "cpu_user_s",
"cpu_sys_s"}) and the memory figures on "done".
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


# ---------------------------------------------------------------- shared blocks (diffusers.models.resnet / attention_processor)

class ResnetBlock2D(nn.Module):
    """diffusers ResnetBlock2D, time_embedding_norm="default", dropout omitted (eval)."""

    def __init__(self, cin, cout, temb=None, groups=32, eps=1e-5, output_scale_factor=1.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps, affine=True)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout) if temb is not None else None
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps, affine=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.output_scale_factor = output_scale_factor

    def forward(self, input_tensor, temb=None):
        hidden_states = F.silu(self.norm1(input_tensor))
        hidden_states = self.conv1(hidden_states)
        if temb is not None:
            temb = self.time_emb_proj(F.silu(temb))[:, :, None, None]
            hidden_states = hidden_states + temb
        hidden_states = F.silu(self.norm2(hidden_states))
        hidden_states = self.conv2(hidden_states)
        if self.conv_shortcut is not None:
            input_tensor = self.conv_shortcut(input_tensor)
        return (input_tensor + hidden_states) / self.output_scale_factor


class Attention(nn.Module):
    """diffusers Attention + AttnProcessor (the processor diffusers uses on torch < 2.0)."""

    def __init__(self, query_dim, cross_attention_dim=None, heads=8, dim_head=64, bias=False, out_bias=True,
                 norm_groups=None, eps=1e-5, residual_connection=False):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.scale = dim_head ** -0.5
        self.group_norm = nn.GroupNorm(norm_groups, query_dim, eps=eps, affine=True) if norm_groups else None
        self.to_q = nn.Linear(query_dim, inner, bias=bias)
        self.to_k = nn.Linear(cross_attention_dim or query_dim, inner, bias=bias)
        self.to_v = nn.Linear(cross_attention_dim or query_dim, inner, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim, bias=out_bias), nn.Dropout(0.0)])
        self.residual_connection = residual_connection
        self.rescale_output_factor = 1.0

    def head_to_batch_dim(self, tensor):
        b, seq, dim = tensor.shape
        h = self.heads
        return tensor.reshape(b, seq, h, dim // h).permute(0, 2, 1, 3).reshape(b * h, seq, dim // h)

    def batch_to_head_dim(self, tensor):
        bh, seq, dim = tensor.shape
        h = self.heads
        return tensor.reshape(bh // h, h, seq, dim).permute(0, 2, 1, 3).reshape(bh // h, seq, dim * h)

    def get_attention_scores(self, query, key):
        baddbmm_input = torch.empty(query.shape[0], query.shape[1], key.shape[1], dtype=query.dtype, device=query.device)
        scores = torch.baddbmm(baddbmm_input, query, key.transpose(-1, -2), beta=0, alpha=self.scale)
        return scores.softmax(dim=-1)

    def forward(self, hidden_states, encoder_hidden_states=None):
        residual = hidden_states
        input_ndim = hidden_states.ndim
        if input_ndim == 4:
            batch, channel, height, width = hidden_states.shape
            hidden_states = hidden_states.view(batch, channel, height * width).transpose(1, 2)
        if self.group_norm is not None:
            hidden_states = self.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        query = self.to_q(hidden_states)
        if encoder_hidden_states is None:
            encoder_hidden_states = hidden_states
        key = self.to_k(encoder_hidden_states)
        value = self.to_v(encoder_hidden_states)
        query = self.head_to_batch_dim(query)
        key = self.head_to_batch_dim(key)
        value = self.head_to_batch_dim(value)
        probs = self.get_attention_scores(query, key)
        hidden_states = torch.bmm(probs, value)
        hidden_states = self.batch_to_head_dim(hidden_states)
        hidden_states = self.to_out[0](hidden_states)
        hidden_states = self.to_out[1](hidden_states)
        if input_ndim == 4:
            hidden_states = hidden_states.transpose(-1, -2).reshape(batch, channel, height, width)
        if self.residual_connection:
            hidden_states = hidden_states + residual
        return hidden_states / self.rescale_output_factor


class Upsample2D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, hidden_states):
        if hidden_states.shape[0] >= 64:
            hidden_states = hidden_states.contiguous()
        hidden_states = F.interpolate(hidden_states, scale_factor=2.0, mode="nearest")
        return self.conv(hidden_states)


class Downsample2D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, hidden_states):
        return self.conv(hidden_states)


# ---------------------------------------------------------------- UNet (diffusers.models.unets.unet_2d_condition, SD 1.5)

class GEGLU(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, hidden_states):
        hidden_states, gate = self.proj(hidden_states).chunk(2, dim=-1)
        return hidden_states * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * mult), nn.Dropout(0.0), nn.Linear(dim * mult, dim)])

    def forward(self, hidden_states):
        for module in self.net:
            hidden_states = module(hidden_states)
        return hidden_states


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, dim_head, cross_attention_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads=heads, dim_head=dim_head)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, cross_attention_dim=cross_attention_dim, heads=heads, dim_head=dim_head)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, hidden_states, encoder_hidden_states):
        attn_output = self.attn1(self.norm1(hidden_states))
        hidden_states = attn_output + hidden_states
        attn_output = self.attn2(self.norm2(hidden_states), encoder_hidden_states=encoder_hidden_states)
        hidden_states = attn_output + hidden_states
        ff_output = self.ff(self.norm3(hidden_states))
        return ff_output + hidden_states


class Transformer2DModel(nn.Module):
    """Continuous input, use_linear_projection=False (SD 1.x): 1x1-conv proj_in/proj_out."""

    def __init__(self, heads, dim_head, in_channels, cross_attention_dim, groups=32):
        super().__init__()
        inner = heads * dim_head
        self.norm = nn.GroupNorm(groups, in_channels, eps=1e-6, affine=True)
        self.proj_in = nn.Conv2d(in_channels, inner, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(inner, heads, dim_head, cross_attention_dim)])
        self.proj_out = nn.Conv2d(inner, in_channels, 1)

    def forward(self, hidden_states, encoder_hidden_states):
        batch, _, height, width = hidden_states.shape
        residual = hidden_states
        hidden_states = self.norm(hidden_states)
        hidden_states = self.proj_in(hidden_states)
        inner = hidden_states.shape[1]
        hidden_states = hidden_states.permute(0, 2, 3, 1).reshape(batch, height * width, inner)
        for block in self.transformer_blocks:
            hidden_states = block(hidden_states, encoder_hidden_states)
        hidden_states = hidden_states.reshape(batch, height, width, inner).permute(0, 3, 1, 2).contiguous()
        hidden_states = self.proj_out(hidden_states)
        return hidden_states + residual


class CrossAttnDownBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, heads, cross_attention_dim, add_downsample, layers=2):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, temb) for i in range(layers)])
        self.attentions = nn.ModuleList([Transformer2DModel(heads, cout // heads, cout, cross_attention_dim) for _ in range(layers)])
        self.downsamplers = nn.ModuleList([Downsample2D(cout)]) if add_downsample else None

    def forward(self, hidden_states, temb, encoder_hidden_states):
        output_states = ()
        for resnet, attn in zip(self.resnets, self.attentions):
            hidden_states = resnet(hidden_states, temb)
            hidden_states = attn(hidden_states, encoder_hidden_states)
            output_states += (hidden_states,)
        if self.downsamplers is not None:
            for down in self.downsamplers:
                hidden_states = down(hidden_states)
            output_states += (hidden_states,)
        return hidden_states, output_states


class DownBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, layers=2):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, temb) for i in range(layers)])

    def forward(self, hidden_states, temb, encoder_hidden_states):
        output_states = ()
        for resnet in self.resnets:
            hidden_states = resnet(hidden_states, temb)
            output_states += (hidden_states,)
        return hidden_states, output_states


class UpBlock(nn.Module):
    """CrossAttnUpBlock2D (heads given) or UpBlock2D (heads None)."""

    def __init__(self, cin, prev_out, cout, temb, add_upsample, heads=None, cross_attention_dim=None, layers=3):
        super().__init__()
        resnets = []
        for i in range(layers):
            res_skip = cin if i == layers - 1 else cout
            resnet_in = prev_out if i == 0 else cout
            resnets.append(ResnetBlock2D(resnet_in + res_skip, cout, temb))
        self.resnets = nn.ModuleList(resnets)
        self.attentions = (nn.ModuleList([Transformer2DModel(heads, cout // heads, cout, cross_attention_dim) for _ in range(layers)])
                           if heads else None)
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if add_upsample else None

    def forward(self, hidden_states, res_hidden_states_tuple, temb, encoder_hidden_states):
        for i, resnet in enumerate(self.resnets):
            res_hidden_states = res_hidden_states_tuple[-1]
            res_hidden_states_tuple = res_hidden_states_tuple[:-1]
            hidden_states = torch.cat([hidden_states, res_hidden_states], dim=1)
            hidden_states = resnet(hidden_states, temb)
            if self.attentions is not None:
                hidden_states = self.attentions[i](hidden_states, encoder_hidden_states)
        if self.upsamplers is not None:
            for up in self.upsamplers:
                hidden_states = up(hidden_states)
        return hidden_states


class UNetMidBlock2DCrossAttn(nn.Module):
    def __init__(self, channels, temb, heads, cross_attention_dim):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(channels, channels, temb), ResnetBlock2D(channels, channels, temb)])
        self.attentions = nn.ModuleList([Transformer2DModel(heads, channels // heads, channels, cross_attention_dim)])

    def forward(self, hidden_states, temb, encoder_hidden_states):
        hidden_states = self.resnets[0](hidden_states, temb)
        for attn, resnet in zip(self.attentions, self.resnets[1:]):
            hidden_states = attn(hidden_states, encoder_hidden_states)
            hidden_states = resnet(hidden_states, temb)
        return hidden_states


def get_timestep_embedding(timesteps, embedding_dim, flip_sin_to_cos=True, downscale_freq_shift=0, max_period=10000):
    half_dim = embedding_dim // 2
    exponent = -math.log(max_period) * torch.arange(start=0, end=half_dim, dtype=torch.float32, device=timesteps.device)
    exponent = exponent / (half_dim - downscale_freq_shift)
    emb = torch.exp(exponent)
    emb = timesteps[:, None].float() * emb[None, :]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half_dim:], emb[:, :half_dim]], dim=-1)
    return emb


class TimestepEmbedding(nn.Module):
    def __init__(self, cin, dim):
        super().__init__()
        self.linear_1 = nn.Linear(cin, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, sample):
        return self.linear_2(F.silu(self.linear_1(sample)))


class UNet2DConditionModel(nn.Module):
    """runwayml/stable-diffusion-v1-5 unet/config.json."""

    def __init__(self, block_out=(320, 640, 1280, 1280), heads=8, cross_attention_dim=768):
        super().__init__()
        temb = block_out[0] * 4
        self.block_out = block_out
        self.conv_in = nn.Conv2d(4, block_out[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(block_out[0], temb)
        down = []
        out = block_out[0]
        for i, ch in enumerate(block_out):
            cin, out = out, ch
            last = i == len(block_out) - 1
            down.append(DownBlock2D(cin, out, temb) if last
                        else CrossAttnDownBlock2D(cin, out, temb, heads, cross_attention_dim, add_downsample=True))
        self.down_blocks = nn.ModuleList(down)
        self.mid_block = UNetMidBlock2DCrossAttn(block_out[-1], temb, heads, cross_attention_dim)
        rev = list(reversed(block_out))
        up = []
        out = rev[0]
        for i in range(len(rev)):
            prev_out, out = out, rev[i]
            cin = rev[min(i + 1, len(rev) - 1)]
            last = i == len(rev) - 1
            up.append(UpBlock(cin, prev_out, out, temb, add_upsample=not last,
                              heads=None if i == 0 else heads, cross_attention_dim=cross_attention_dim))
        self.up_blocks = nn.ModuleList(up)
        self.conv_norm_out = nn.GroupNorm(32, block_out[0], eps=1e-5)
        self.conv_out = nn.Conv2d(block_out[0], 4, 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states):
        timesteps = timestep
        if len(timesteps.shape) == 0:
            timesteps = timesteps[None]
        timesteps = timesteps.expand(sample.shape[0])
        t_emb = get_timestep_embedding(timesteps, self.block_out[0]).to(dtype=sample.dtype)
        emb = self.time_embedding(t_emb)
        sample = self.conv_in(sample)
        down_block_res_samples = (sample,)
        for block in self.down_blocks:
            sample, res = block(sample, emb, encoder_hidden_states)
            down_block_res_samples += res
        sample = self.mid_block(sample, emb, encoder_hidden_states)
        for block in self.up_blocks:
            res = down_block_res_samples[-len(block.resnets):]
            down_block_res_samples = down_block_res_samples[:-len(block.resnets)]
            sample = block(sample, res, emb, encoder_hidden_states)
        sample = F.silu(self.conv_norm_out(sample))
        return self.conv_out(sample)


# ---------------------------------------------------------------- VAE decoder (diffusers.models.autoencoders.vae, SD 1.5 config)

class UpDecoderBlock2D(nn.Module):
    def __init__(self, cin, cout, layers, add_upsample):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, None, eps=1e-6) for i in range(layers)])
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if add_upsample else None

    def forward(self, hidden_states):
        for resnet in self.resnets:
            hidden_states = resnet(hidden_states)
        if self.upsamplers is not None:
            for up in self.upsamplers:
                hidden_states = up(hidden_states)
        return hidden_states


class UNetMidBlock2D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(channels, channels, None, eps=1e-6), ResnetBlock2D(channels, channels, None, eps=1e-6)])
        # attention_head_dim = channels: one head; group_norm inside, bias everywhere, residual, upcast_softmax (a no-op in float32).
        self.attentions = nn.ModuleList([Attention(channels, heads=1, dim_head=channels, bias=True, norm_groups=32, eps=1e-6,
                                                   residual_connection=True)])

    def forward(self, hidden_states):
        hidden_states = self.resnets[0](hidden_states)
        for attn, resnet in zip(self.attentions, self.resnets[1:]):
            hidden_states = attn(hidden_states)
            hidden_states = resnet(hidden_states)
        return hidden_states


class Decoder(nn.Module):
    def __init__(self, block_out=(128, 256, 512, 512), layers_per_block=2, latent=4, out_channels=3):
        super().__init__()
        self.conv_in = nn.Conv2d(latent, block_out[-1], 3, padding=1)
        self.mid_block = UNetMidBlock2D(block_out[-1])
        rev = list(reversed(block_out))
        out = rev[0]
        blocks = []
        for i in range(len(rev)):
            prev, out = out, rev[i]
            blocks.append(UpDecoderBlock2D(prev, out, layers_per_block + 1, add_upsample=i != len(rev) - 1))
        self.up_blocks = nn.ModuleList(blocks)
        self.conv_norm_out = nn.GroupNorm(32, block_out[0], eps=1e-6)
        self.conv_out = nn.Conv2d(block_out[0], out_channels, 3, padding=1)

    def forward(self, z):
        sample = self.conv_in(z)
        sample = self.mid_block(sample)
        for block in self.up_blocks:
            sample = block(sample)
        sample = F.silu(self.conv_norm_out(sample))
        return self.conv_out(sample)


class Downsample2DPadded(nn.Module):
    """The VAE encoder's Downsample2D (padding=0): pad right/bottom by one, then the stride-2 conv."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, hidden_states):
        return self.conv(F.pad(hidden_states, (0, 1, 0, 1), mode="constant", value=0))


class DownEncoderBlock2D(nn.Module):
    def __init__(self, cin, cout, layers, add_downsample):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, None, eps=1e-6) for i in range(layers)])
        self.downsamplers = nn.ModuleList([Downsample2DPadded(cout)]) if add_downsample else None


class Encoder(nn.Module):
    """Built only so the process holds the whole AutoencoderKL, as LoraGrains' (and diffusers') do; not run."""

    def __init__(self, block_out=(128, 256, 512, 512), layers_per_block=2, latent=4):
        super().__init__()
        self.conv_in = nn.Conv2d(3, block_out[0], 3, padding=1)
        out = block_out[0]
        blocks = []
        for i, ch in enumerate(block_out):
            cin, out = out, ch
            blocks.append(DownEncoderBlock2D(cin, out, layers_per_block, add_downsample=i != len(block_out) - 1))
        self.down_blocks = nn.ModuleList(blocks)
        self.mid_block = UNetMidBlock2D(block_out[-1])
        self.conv_norm_out = nn.GroupNorm(32, block_out[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(block_out[-1], 2 * latent, 3, padding=1)


class AutoencoderKL(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.quant_conv = nn.Conv2d(8, 8, 1)
        self.post_quant_conv = nn.Conv2d(4, 4, 1)
        self.decoder = Decoder()

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))


# ---------------------------------------------------------------- harness

def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak():
    """Resets VmHWM to the current RSS (Linux >= 4.0), so the next peak is the run's alone."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def build(case):
    """The model and a zero-argument callable running one call of the case."""
    if case == "vae":
        model = AutoencoderKL().eval()
        z = torch.randn(1, 4, 64, 64)
        return model, lambda: model.decode(z)
    side = 32 if case == "unet32" else 64
    model = UNet2DConditionModel().eval()
    sample = torch.randn(2, 4, side, side)
    states = torch.randn(2, 77, 768)
    t = torch.tensor(500.0)
    return model, lambda: model(sample, t, states)


def timed_call(body):
    cpu = os.times()
    start = time.perf_counter()
    body()
    ms = (time.perf_counter() - start) * 1000
    after = os.times()
    return {"ms": ms, "cpu_user_s": after.user - cpu.user, "cpu_sys_s": after.system - cpu.system}


def answer(fields):
    print(json.dumps(fields), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=["unet32", "unet64", "vae"], required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--serve", action="store_true",
                        help="answer 'run' and 'done' lines on stdin (LoraGrains.Bench drives ours and this alternately)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load_before = loadavg()
    with torch.inference_mode():
        model, body = build(args.case)
        build_rss = status_kb("VmRSS") / 1024
        build_peak = status_kb("VmHWM")
        peak_reset = reset_peak()

        def final():
            return {
                "torch": torch.__version__, "threads": torch.get_num_threads(), "case": args.case,
                "build_rss_mb": build_rss,
                "run_peak_rss_mb": status_kb("VmHWM") / 1024 if peak_reset else None,
                # Whole-process peak (build included). Resetting VmHWM also resets ru_maxrss, hence the max with the
                # peak read before the reset.
                "peak_rss_mb": max(build_peak, status_kb("VmHWM"), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024,
                "parameters": sum(p.numel() for p in model.parameters()),
            }

        if args.serve:
            answer({"ready": True, "build_rss_mb": build_rss})
            for line in sys.stdin:
                command = line.strip()
                if command == "run":
                    answer(timed_call(body))
                elif command == "done":
                    answer(final())
                    return
            return

        for _ in range(args.warmup):
            body()
        calls = [timed_call(body) for _ in range(args.iterations)]
    times = [c["ms"] for c in calls]
    answer({
        **final(),
        "median_ms": statistics.median(times), "times_ms": times,
        "cpu_user_s": statistics.median(c["cpu_user_s"] for c in calls),
        "cpu_sys_s": statistics.median(c["cpu_sys_s"] for c in calls),
        "loadavg": f"{load_before} -> {loadavg()}",
    })


if __name__ == "__main__":
    main()
