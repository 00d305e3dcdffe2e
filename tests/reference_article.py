"""The reference article's Generator and Discriminator, as its code lists them.

Only for tests: weights saved from these must load into ``cagan.links`` and
reproduce their outputs. The reference article imported a third-party instance norm; here
it is a plain one with the same parameter names (``gamma``, ``beta``) and
default eps (2e-5), optionally with the running-statistics persistents that a
later version of that link saved (``avg_mean``, ``avg_var``, ``N``). Its
noise is off: these are compared in test mode only.
"""

import chainer
import chainer.functions as F
import chainer.links as L
import numpy


class PlainInstanceNormalization(chainer.Link):

    def __init__(self, size, eps=2e-5, running_stats=False):
        super().__init__()
        self.eps = eps
        with self.init_scope():
            self.gamma = chainer.Parameter(1.0, (size,))
            self.beta = chainer.Parameter(0.0, (size,))
        if running_stats:
            self.add_persistent('avg_mean', numpy.zeros(size, 'f'))
            self.add_persistent('avg_var', numpy.zeros(size, 'f'))
            self.add_persistent('N', 0)

    def forward(self, x):
        mean = F.mean(x, axis=(2, 3), keepdims=True)
        var = F.mean(F.square(x - F.broadcast_to(mean, x.shape)),
                     axis=(2, 3), keepdims=True)
        x_hat = (x - F.broadcast_to(mean, x.shape)) / F.broadcast_to(
            F.sqrt(var + self.eps), x.shape)
        shape = (1, x.shape[1], 1, 1)
        return (x_hat * F.broadcast_to(F.reshape(self.gamma, shape), x.shape)
                + F.broadcast_to(F.reshape(self.beta, shape), x.shape))


class ReferenceGenerator(chainer.Chain):

    def __init__(self, bottm_width=8, ch=512, wscale=0.02, running_stats=False):
        w = chainer.initializers.Normal(wscale)
        IN = lambda n: PlainInstanceNormalization(n, running_stats=running_stats)  # noqa: E731,E501
        super().__init__()
        with self.init_scope():
            self.c0 = L.Convolution2D(9, ch // 8, 4, 2, 1, initialW=w)
            self.c1 = L.Convolution2D(ch // 8, ch // 4, 4, 2, 1, initialW=w)
            self.c2 = L.Convolution2D(ch // 4, ch // 2, 4, 2, 1, initialW=w)
            self.c3 = L.Convolution2D(ch // 2, ch // 1, 4, 2, 1, initialW=w)
            self.bn0 = IN(ch // 8)
            self.bn1 = IN(ch // 4)
            self.bn2 = IN(ch // 2)
            self.bn3 = IN(ch // 1)
            self.dc0 = L.Deconvolution2D(ch // 1, ch // 2, 4, 2, 1, initialW=w)
            self.dc1 = L.Deconvolution2D(ch // 2, ch // 4, 4, 2, 1, initialW=w)
            self.dc2 = L.Deconvolution2D(ch // 4, ch // 8, 4, 2, 1, initialW=w)
            self.dc3 = L.Deconvolution2D(ch // 8, 4, 4, 2, 1, initialW=w)
            self.dbn0 = IN(ch // 2)
            self.dbn1 = IN(ch // 4)
            self.dbn2 = IN(ch // 8)

    def __call__(self, x):
        h1 = F.relu(self.c0(x))
        h2 = F.relu(self.bn1(self.c1(h1)))
        h3 = F.relu(self.bn2(self.c2(h2)))
        h = F.relu(self.bn3(self.c3(h3)))
        h = F.relu(self.dbn0(self.dc0(h))) + h3
        h = F.relu(self.dbn1(self.dc1(h))) + h2
        h = F.relu(self.dbn2(self.dc2(h))) + h1
        x = F.sigmoid(self.dc3(h))
        return x


class ReferenceDiscriminator(chainer.Chain):

    def __init__(self, bottom_width=8, ch=512, wscale=0.02,
                 running_stats=False):
        w = chainer.initializers.Normal(wscale)
        IN = lambda n: PlainInstanceNormalization(n, running_stats=running_stats)  # noqa: E731,E501
        super().__init__()
        with self.init_scope():
            self.c0 = L.Convolution2D(6, ch // 8, 4, 2, 1, initialW=w)
            self.c1 = L.Convolution2D(ch // 8, ch // 4, 4, 2, 1, initialW=w)
            self.c2 = L.Convolution2D(ch // 4, ch // 2, 4, 2, 1, initialW=w)
            self.c3 = L.Convolution2D(ch // 2, ch // 1, 4, 2, 1, initialW=w)
            self.c4 = L.Convolution2D(ch // 1, ch // 1, 4, 2, 1, initialW=w)
            self.l4 = L.Linear(bottom_width * bottom_width * ch, 1, initialW=w)
            self.bn0 = IN(ch // 8)
            self.bn1 = IN(ch // 4)
            self.bn2 = IN(ch // 2)
            self.bn3 = IN(ch // 1)
            self.bn4 = IN(ch // 1)

    def __call__(self, x):
        h = x  # add_noise is the identity in test mode
        h = F.leaky_relu(self.c0(h))
        h = F.leaky_relu(self.bn1(self.c1(h)))
        h = F.leaky_relu(self.bn2(self.c2(h)))
        h = F.leaky_relu(self.bn3(self.c3(h)))
        h = F.leaky_relu(self.bn4(self.c4(h)))
        return F.sigmoid(self.l4(h))
