import chainer
import numpy
from chainer import initializers

from cagan import kernels
from cagan.kernels.activation import LEAKY_SLOPE


class InstanceNormalization(chainer.Link):
    """Instance normalization (Ulyanov et al., 2016) with a per-channel affine.

    .. math::

        y_{b,c} = \\gamma_c \\frac{x_{b,c} - \\mu_{b,c}}
                  {\\sqrt{\\sigma^2_{b,c} + \\epsilon}} + \\beta_c

    where :math:`\\mu_{b,c}` and :math:`\\sigma^2_{b,c}` are the mean and the
    (biased) variance of sample ``b``, channel ``c`` over its spatial axes.
    Statistics always come from the input itself: there are no running
    averages, so train and test mode give the same output.

    The reference article used crcrpar/instance_normalization_chainer, whose backward pass
    summed ``gamma``'s and ``beta``'s gradients over the batch before using
    them in ``x``'s gradient (wrong for batch > 1; about 18% relative error at
    batch 4). Here both passes are Chainer's ``group_normalization`` with one
    group per channel, which is exactly this function, gradients included
    (on the CPU in its faster form:
    :func:`cagan.kernels.instance_normalization`).

    Args:
        size (int): number of channels ``C``.
        eps (float): added to the variance; 2e-5 is the reference article's link's default.
        dtype: parameter dtype.

    Attributes:
        gamma (~chainer.Parameter): scale, shape ``(C,)``, initialised to 1.
        beta (~chainer.Parameter): shift, shape ``(C,)``, initialised to 0.
            The names match the reference article's link, so its weights load.

    Input: ``x`` of shape ``(B, C, ...)``, floating point; output: same shape.
    """

    def __init__(self, size, eps=2e-5, dtype=numpy.float32):
        super().__init__()
        self.eps = eps
        with self.init_scope():
            self.gamma = chainer.Parameter(initializers.One(dtype), size)
            self.beta = chainer.Parameter(initializers.Zero(dtype), size)

    def forward(self, x, activation=None):
        """Normalise ``x``, then apply ``activation``.

        Args:
            x: ``(B, C, ...)`` float array or Variable.
            activation: None, :func:`cagan.kernels.relu` or
                :func:`cagan.kernels.leaky_relu` (slope 0.2, its default):
                ``activation(self(x))``, computed in the same pass on the
                CPU (the same floats; one function node each way instead of
                two, see :func:`cagan.kernels.instance_normalization`).

        Returns:
            ~chainer.Variable: ``x``'s shape and dtype.
        """
        if activation not in _SLOPES:
            raise ValueError('InstanceNormalization: activation must be None, '
                             'cagan.kernels.relu or cagan.kernels.leaky_relu, '
                             'got {!r}'.format(activation))
        return kernels.instance_normalization(
            x, self.gamma, self.beta, self.eps, slope=_SLOPES[activation])


#: The activations the link applies, by slope for negative inputs.
_SLOPES = {None: None, kernels.relu: 0.0, kernels.leaky_relu: LEAKY_SLOPE}
