"""cagan.experiments.flops: multiply-adds counted from the built networks,
against a count by hand for each option."""

import pytest

from cagan import Discriminator, Generator, config
from cagan.experiments import flops

H, W, CH = 64, 32, 16


def gen_by_hand(inject):
    """G's multiply-adds for one sample: 4x4 convolutions (output pixels x
    C_in x C_out x 16), then deconvolutions (input pixels x C_in x C_out x
    16); a resize-convolution runs as the same deconvolution."""
    k = 9 if inject else 0
    c = CH
    enc = [(2, 9, c // 8), (4, c // 8 + k, c // 4), (8, c // 4 + k, c // 2),
           (16, c // 2 + k, c)]
    dec = [(16, c + k, c // 2), (8, c // 2 + k, c // 4), (4, c // 4 + k, c // 8),
           (2, c // 8 + k, 4)]
    return sum(H // s * (W // s) * cin * cout * 16 for s, cin, cout in enc + dec)


def dis_by_hand(head, inject):
    k = 6 if inject else 0
    c = CH
    layers = [(2, 6, c // 8), (4, c // 8 + k, c // 4), (8, c // 4 + k, c // 2),
              (16, c // 2 + k, c)]
    if head != 'patch16':
        layers.append((32, c + k, c))
    total = sum(H // s * (W // s) * cin * cout * 16 for s, cin, cout in layers)
    bottom = 16 if head == 'patch16' else 32
    if head == 'linear':
        return total + c * (H // 32) * (W // 32)
    return total + H // bottom * (W // bottom) * (c + k) * 9  # 3x3, 1 out


def forward_macs(link):
    x = link.xp.zeros((1, link.in_channels, H, W), 'f')
    return sum(m for m, _ in flops.layer_macs(link, x))


@pytest.mark.parametrize('inject', [False, True])
@pytest.mark.parametrize('upsample', ['deconv', 'resize'])
def test_the_generator_is_counted_as_built(inject, upsample):
    gen = Generator(ch=CH, size=(H, W), inject=inject, upsample=upsample)
    assert forward_macs(gen) == gen_by_hand(inject)


@pytest.mark.parametrize('head', ['linear', 'patch', 'patch16'])
@pytest.mark.parametrize('inject', [False, True])
@pytest.mark.parametrize('spectral_norm', [False, True])
def test_the_discriminator_is_counted_as_built(head, inject, spectral_norm):
    dis = Discriminator(ch=CH, size=(H, W), head=head, inject=inject,
                        spectral_norm=spectral_norm)
    assert forward_macs(dis) == dis_by_hand(head, inject)


@pytest.mark.parametrize('head', ['linear', 'patch', 'patch16'])
def test_the_projections_article_encoder_is_counted(head):
    # Its 4x4 stride-2 convolutions of the article (3 channels) to the
    # head's stride; the inner products (ch per logit) are left out.
    c = CH
    layers = [(2, 3, c // 8), (4, c // 8, c // 4), (8, c // 4, c // 2),
              (16, c // 2, c)]
    if head != 'patch16':
        layers.append((32, c, c))
    encoder = sum(H // s * (W // s) * cin * cout * 16
                  for s, cin, cout in layers)
    dis = Discriminator(ch=CH, size=(H, W), head=head, inject=True,
                        projection=True)
    assert forward_macs(dis) == dis_by_hand(head, True) + encoder


def test_only_a_first_layer_reads_data_alone():
    gen = Generator(ch=CH, size=(H, W), inject=True)
    needs = [n for _, n in flops.layer_macs(
        gen, gen.xp.zeros((1, 9, H, W), 'f'))]
    assert needs.count(False) == 1


@pytest.mark.parametrize('head', ['linear', 'patch16'])
def test_a_step_is_two_generator_passes_and_four_discriminator_ones(head):
    resolved = config.resolve({'data': {'size': [H, W]},
                               'model': {'ch': CH, 'dis': {'head': head}},
                               'train': {'batch': 3}}, 'test')
    g = gen_by_hand(False)
    first = H // 2 * (W // 2) * 9 * (CH // 8) * 16  # needs no input grad
    d = dis_by_hand(head, False)
    d_first = H // 2 * (W // 2) * 6 * (CH // 8) * 16
    # G(x_i, y_i, y_j) and G(x_ij, y_j, y_i): forward, input and weight
    # gradients (none for the first pass's input); D(x_ij, y_j): forward
    # and input gradients; D on 3 pairs: forward and weight gradients, and
    # input gradients past its first layer.
    macs = (3 * g - first) + 3 * g + 2 * d + 3 * (3 * d - d_first)
    assert flops.step_gflop(resolved) == pytest.approx(
        2 * 3 * macs / 1e9, rel=1e-12)


def test_the_shipped_configs():
    # The reference article's step: about 1.34 TFLOP; the demo's 3.66 GFLOP
    # (2.06 without the warp, whose G reads 13 channels).
    for name, expected in (('swimwear', 1342.73), ('demo', 3.657)):
        resolved = config.load('configs/{}.yaml'.format(name))
        assert flops.step_gflop(resolved) == pytest.approx(expected,
                                                           abs=0.01)
