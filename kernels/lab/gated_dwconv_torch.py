# The unfused baseline for the gated_dwconv lab: PyTorch (cuDNN depthwise conv, channels_last) + a separate gate,
# at the same batch-256 shapes, timed with CUDA events (median of 20 after 3 warm-ups, L2 flushed before each run).
#   python3 kernels/lab/gated_dwconv_torch.py
import torch
import torch.nn.functional as F

torch.backends.cudnn.benchmark = True
dev = "cuda"
flush = torch.empty(256 << 20, dtype=torch.uint8, device=dev)


def time_us(fn, reps=20):
    times = []
    for i in range(reps + 3):
        flush.fill_(i & 0xFF)
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        if i >= 3:
            times.append(a.elapsed_time(b) * 1e3)
    return sorted(times)[len(times) // 2]


shapes = [("femto", 1, 56, 128, 48), ("femto", 2, 28, 256, 96), ("femto", 3, 14, 512, 192), ("femto", 4, 7, 768, 288),
          ("tiny", 1, 56, 256, 96), ("tiny", 2, 28, 512, 192), ("tiny", 3, 14, 1024, 384), ("tiny", 4, 7, 1536, 576)]
N, k = 256, 7
print("| model | stage | dtype | cuDNN dwconv alone us | unfused total us (split, conv, gelu, mul, cat) |")
print("| --- | --- | --- | --- | --- |")
for dtype in (torch.float32, torch.bfloat16):
    for model, stage, H, hidden, conv in shapes:
        x = torch.randn(N, H, H, 2 * hidden, device=dev, dtype=dtype)
        w = torch.randn(conv, 1, k, k, device=dev, dtype=dtype) / k
        b = torch.randn(conv, device=dev, dtype=dtype)
        # c as an NCHW tensor in channels_last memory (what cuDNN's NHWC depthwise kernels take), made contiguous once
        c_cl = x[..., 2 * hidden - conv:].permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)

        def conv_only():
            F.conv2d(c_cl, w, b, padding=k // 2, groups=conv)

        def unfused():
            g, i, c = torch.split(x, [hidden, hidden - conv, conv], dim=-1)
            cc = c.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
            y = F.conv2d(cc, w, b, padding=k // 2, groups=conv).permute(0, 2, 3, 1)
            return F.gelu(g) * torch.cat((i, y), dim=-1)

        t_conv, t_all = time_us(conv_only), time_us(unfused)
        print(f"| {model} | {stage} | {'f32' if dtype == torch.float32 else 'bf16'} | {t_conv:.1f} | {t_all:.1f} |",
              flush=True)
        del x, w, b, c_cl
