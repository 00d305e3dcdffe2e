"""The same CAGAN training step in PyTorch (CPU): a yardstick for cagan's speed.

    python -m venv /tmp/torch && /tmp/torch/bin/pip install torch numpy
    python scripts/benchmark.py --config configs/demo.yaml --peer /tmp/torch/bin/python

Run it in an environment of its own: PyTorch is not a dependency of cagan,
and nothing in cagan imports this file. ``scripts/benchmark.py --peer
PYTHON`` runs it with that interpreter (``--config`` the resolved config
as JSON), alternating with cagan's step in one run: the peer builds the
config's networks and step (:func:`build`), as cagan does.

The networks are cagan's (cagan/links/generator.py, discriminator.py) layer
for layer: 4x4 stride-2 convolutions, instance norm (affine, eps 2e-5) on
all encoder layers but the first, ReLU in G and leaky ReLU (0.2) in D, the
decoder's skip adds, a sigmoid on G's 4 channels; with ``--inject`` the 9
inputs 2x2-average-pooled beside every layer of G after the first; with
``--upsample resize`` nearest x2 then a 3x3 convolution; the ``patch16``
head (a 3x3 convolution on the stride-16 map), ``patch`` (the stride-32
map) or ``linear`` (the reference article's: one logit from the stride-32
map); with ``--noise`` D's Gaussian noise on its input and on each layer's
output before the activation. The step is cagan's (cagan/updater.py): G on (x_i, y_i, y_j), G on
(x_ij, y_j, y_i), the adversarial, cycle and id losses (the config's
weights), G's
Adam update, the moving average of G's weights (with ``optimizer.ema``), then D
on the three pairs in one batch, D's Adam update (beta1 0.5). Random
triplets; float32; PyTorch's default threads (the usable cores).

Prints one JSON line: the median seconds per step after one warm-up step,
every step's seconds, and the threads PyTorch used.
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class InstanceNorm(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.norm = nn.GroupNorm(channels, channels, eps=2e-5)

    def forward(self, x):
        return self.norm(x)


def pool(x):
    return F.avg_pool2d(x, 2)


class Generator(nn.Module):
    def __init__(self, ch, inject, upsample):
        super().__init__()
        k = 9 if inject else 0
        self.inject = inject
        self.c0 = nn.Conv2d(9, ch // 8, 4, 2, 1)
        self.c1 = nn.Conv2d(ch // 8 + k, ch // 4, 4, 2, 1)
        self.c2 = nn.Conv2d(ch // 4 + k, ch // 2, 4, 2, 1)
        self.c3 = nn.Conv2d(ch // 2 + k, ch, 4, 2, 1)
        self.bn1, self.bn2, self.bn3 = (InstanceNorm(ch // 4),
                                        InstanceNorm(ch // 2), InstanceNorm(ch))

        def up(n_in, n_out):
            if upsample == 'resize':
                return nn.Sequential(nn.Upsample(scale_factor=2),
                                     nn.Conv2d(n_in, n_out, 3, 1, 1))
            return nn.ConvTranspose2d(n_in, n_out, 4, 2, 1)
        self.dc0 = up(ch + k, ch // 2)
        self.dc1 = up(ch // 2 + k, ch // 4)
        self.dc2 = up(ch // 4 + k, ch // 8)
        self.dc3 = up(ch // 8 + k, 4)
        self.dbn0, self.dbn1, self.dbn2 = (InstanceNorm(ch // 2),
                                           InstanceNorm(ch // 4),
                                           InstanceNorm(ch // 8))

    def forward(self, x):
        copies = {1: x}
        if self.inject:
            for s in (2, 4, 8, 16):
                copies[s] = pool(copies[s // 2])

        def beside(h, s):
            return torch.cat((h, copies[s]), 1) if self.inject else h
        h1 = F.relu(self.c0(x))
        h2 = F.relu(self.bn1(self.c1(beside(h1, 2))))
        h3 = F.relu(self.bn2(self.c2(beside(h2, 4))))
        h = F.relu(self.bn3(self.c3(beside(h3, 8))))
        h = F.relu(self.dbn0(self.dc0(beside(h, 16)))) + h3
        h = F.relu(self.dbn1(self.dc1(beside(h, 8)))) + h2
        h = F.relu(self.dbn2(self.dc2(beside(h, 4)))) + h1
        return torch.sigmoid(self.dc3(beside(h, 2)))

    def swap(self, x_i, y_i, y_j):
        out = self(torch.cat((x_i, y_i, y_j), 1))
        image, alpha = out[:, :3], out[:, 3:]
        return x_i + alpha * (image - x_i), alpha


class Discriminator(nn.Module):
    def __init__(self, ch, head, size, noise):
        super().__init__()
        chans = [6, ch // 8, ch // 4, ch // 2, ch]
        if head != 'patch16':
            chans.append(ch)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 4, 2, 1)
                                   for a, b in zip(chans, chans[1:]))
        self.norms = nn.ModuleList(InstanceNorm(c) for c in chans[2:])
        self.noise = noise
        if head == 'linear':
            self.head = nn.Sequential(
                nn.Flatten(), nn.Linear(ch * (size[0] // 32) * (size[1] // 32),
                                        1))
        else:
            self.head = nn.Conv2d(ch, 1, 3, 1, 1)

    def add_noise(self, h):
        return h + self.noise * torch.randn_like(h) if self.noise else h

    def forward(self, x):
        h = F.leaky_relu(self.add_noise(self.convs[0](self.add_noise(x))),
                         0.2)
        for conv, norm in zip(self.convs[1:], self.norms):
            h = F.leaky_relu(self.add_noise(norm(conv(h))), 0.2)
        return self.head(h)


def bce(logits, real):
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def build(config):
    """G, D, Adam for each and the step's sizes, from a resolved cagan
    config (a dict, as ``cagan.config`` resolves it): the one place the
    peer reads it.

    Refuses (ValueError) what it does not build: spectral normalisation,
    inputs injected into D, D's projection term and the warp.
    """
    data, model, opt = config['data'], config['model'], config['optimizer']
    gen, dis = model['gen'], model['dis']
    lacking = [name for name, used in (
        ('model.dis.spectral_norm', dis['spectral_norm']),
        ('model.dis.inject', dis['inject']),
        ('model.dis.projection', dis['projection']),
        ('model.gen.warp', config['model']['gen']['warp'] != 'none'))
        if used]
    if lacking:
        raise ValueError('the PyTorch peer does not build {}: compare a '
                         'config without it'.format(', '.join(lacking)))
    h, w = data['size']
    torch.manual_seed(0)
    gen = Generator(model['ch'], gen['inject'], gen['upsample'])
    dis = Discriminator(model['ch'], dis['head'], (h, w), dis['noise_sigma'])
    for module in (gen, dis):
        for p in module.parameters():
            if p.dim() == 4:
                nn.init.normal_(p, 0, model['wscale'])
    betas = (opt['beta1'], opt['beta2'])
    gen_opt = torch.optim.Adam(gen.parameters(), opt['lr'], betas=betas)
    dis_opt = torch.optim.Adam(dis.parameters(), opt['dis_lr'] or opt['lr'],
                               betas=betas)
    return gen, dis, gen_opt, dis_opt, (config['train']['batch'], h, w)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', required=True,
                        help='a resolved cagan config as JSON (benchmark.py '
                        '--peer writes it)')
    parser.add_argument('--steps', type=int, default=20)
    args = parser.parse_args()
    with open(args.config, encoding='utf-8') as f:
        config = json.load(f)
    try:
        gen, dis, gen_opt, dis_opt, (batch, h, w) = build(config)
    except ValueError as error:
        raise SystemExit('error: {}'.format(error)) from None
    loss_w = config['loss']
    ema = config['optimizer']['ema']
    gen_ema = [p.detach().clone() for p in gen.parameters()]
    x_i, y_i, y_j = (torch.rand(batch, 3, h, w) for _ in range(3))

    def step():
        x_ij, alpha = gen.swap(x_i, y_i, y_j)
        x_iji, _ = gen.swap(x_ij, y_j, y_i)
        loss = (loss_w['gamma_adv'] * bce(dis(torch.cat((x_ij, y_j), 1)), True)
                + loss_w['gamma_cyc'] * (x_iji - x_i).abs().mean()
                + loss_w['gamma_id'] * alpha.abs().mean())
        gen_opt.zero_grad(set_to_none=True)
        loss.backward()
        gen_opt.step()
        if ema is not None:
            with torch.no_grad():
                torch._foreach_lerp_(gen_ema, list(gen.parameters()), 1 - ema)
        x_ij = x_ij.detach()
        pairs = torch.cat((torch.cat((x_i, y_i), 1), torch.cat((x_ij, y_j), 1),
                           torch.cat((x_i, y_j), 1)))
        real, fake, wrong = dis(pairs).chunk(3)
        d_loss = bce(real, True) + bce(fake, False) + bce(wrong, False)
        dis_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        dis_opt.step()

    times = []
    for k in range(args.steps + 1):
        start = time.perf_counter()
        step()
        if k:
            times.append(time.perf_counter() - start)
    print(json.dumps({'peer': 'torch {}'.format(torch.__version__),
                      'seconds': statistics.median(times), 'times': times,
                      'threads': torch.get_num_threads()}))


if __name__ == '__main__':
    main()
