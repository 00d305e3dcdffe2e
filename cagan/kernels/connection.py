"""4x4, stride 2, pad 1 convolution and deconvolution, faster on the CPU,
with the maths of Chainer's own.

On a CPU without iDeep, Chainer's convolution is ``im2col`` (16 strided
copies into an NCHW column array), a ``tensordot`` that transposes that array
again, and a ``col2im`` scatter-add in backward; copies, not the GEMM, take
most of a training step. CAGAN's layers are all 4x4, stride 2, pad 1
convolutions and deconvolutions, and such a convolution is a 2x2, stride 1
convolution over the *space-to-depth* rearrangement of the padded input
(each 2x2 block of pixels becomes one pixel of ``4 C`` channels). With the
channels last, the column array is four contiguous shifted slices of that
rearrangement and the layer is one large GEMM whose rows are
``batch x positions``; the deconvolution (the convolution's gradient with
respect to its input) is the same GEMM read the other way, so one set of
kernels serves both, forward and backward.

On large maps, and on layers of few channels, the gradients take a *phase*
form instead (:func:`_use_phases` says where, as measured): the input
gradient is a 2x2 convolution of the padded output gradient, one GEMM with
no overlapping adds, and the weight gradient pairs the space-to-depth input
with those same columns. Arrays go through in batch chunks of a few MB, in
reused buffers, the chunks shared among threads
(:mod:`cagan.kernels.threads`), each with its own buffers; weight gradients
add the chunks' parts in chunk order.

:func:`convolution_2d` and :func:`deconvolution_2d` take these kernels for
NumPy float32/float64 arrays and any batch, channel count and even spatial
size, and otherwise (the switch at ``'never'``, see :mod:`cagan.kernels`;
CuPy, ChainerX or iDeep arrays, other strides, pads or kernel sizes, odd
sizes, float16) call Chainer's own function, so GPU runs are unchanged.
Gradients are those of Chainer's functions up to float32 rounding (the sums
run in another order); second-order gradients work as well.
"""

import copy

import chainer
import chainer.functions as F
import numpy
from chainer import function_node

from cagan.kernels import threads
from cagan.kernels._dispatch import DTYPES, array_of, use_kernels


def _pair(value):
    return tuple(value) if hasattr(value, '__getitem__') else (value, value)


def _fast(x, W, b, stride, pad, dilate, groups, x_channel_axis):
    """Whether the 4x4 / stride 2 / pad 1 kernels can take these arrays."""
    x_array, W_array, b_array = array_of(x), array_of(W), array_of(b)
    if not use_kernels(x_array, W_array, b_array):
        return False
    if (_pair(stride) != (2, 2) or _pair(pad) != (1, 1)
            or _pair(dilate) != (1, 1) or groups != 1):
        return False
    if x_array.ndim != 4 or W_array.ndim != 4 or W_array.shape[2:] != (4, 4):
        return False
    if x_array.dtype not in DTYPES or W_array.dtype != x_array.dtype:
        return False
    out_channels = W_array.shape[1 - x_channel_axis]
    if b_array is not None and (b_array.dtype != x_array.dtype
                                or b_array.shape != (out_channels,)):
        return False
    return (x_array.shape[1] == W_array.shape[x_channel_axis]
            and x_array.shape[2] % 2 == 0 and x_array.shape[3] % 2 == 0
            and x_array.shape[2] > 0 and x_array.shape[3] > 0)


# ---------------------------------------------------------------------------
# NumPy kernels. Notation: a 4x4 / stride 2 / pad 1 convolution maps
# x (B, C, H, W) to y (B, O, h, w) with h = H / 2, w = W / 2. The padded input
# in space-to-depth form is ``xs`` (B, h + 1, w + 1, 2, 2, C), xs[b, i, j, p,
# q, c] = xpad[b, c, 2i + p, 2j + q]; kernel tap (ky, kx) = (2 di + p,
# 2 dj + q), so y[b, o, i, j] = sum over (di, dj, p, q, c) of
# W[o, c, 2 di + p, 2 dj + q] xs[b, i + di, j + dj, p, q, c]: a GEMM of the
# columns (B h w, [di, dj, p, q, c]) with W as (O, [di, dj, p, q, c]).
# ---------------------------------------------------------------------------

#: Batch chunks keep the column arrays near this size (measured: 2 MB beat
#: 8 and 32 MB), so that they stay mostly in cache and come from the heap
#: (blocks over 32 MB are fresh mmaps, whose page faults cost as much as
#: the copies) ...
_CHUNK_BYTES = 2 << 20
#: ... but each GEMM keeps at least this many rows, to run at full speed.
_MIN_ROWS = 2048


def _chunks(B, positions, row_bytes):
    """Batch slices ``(b0, b1)`` for columns of ``row_bytes`` per position,
    of sizes that differ by one at most (so that threads share them
    evenly). The loops over them tell :func:`cagan.kernels.threads.map` the
    size of the layer's input: under a million elements, threads cost about
    what they save (measured on the demo's layers)."""
    per = max(-(-_MIN_ROWS // positions),
              _CHUNK_BYTES // max(1, positions * row_bytes))
    return [(k.start, k.stop)
            for k in threads.split(B, -(-B // max(1, min(B, per))))]


def _space_to_depth(x, out):
    """``x`` (n, C, H, W) -> zero-padded ``out`` (n, H/2+1, W/2+1, 2, 2, C)."""
    h, w = x.shape[2] // 2, x.shape[3] // 2
    # Only the pad ring is zeroed: one row/column of each phase.
    out[:, 0, :, 0] = 0
    out[:, h, :, 1] = 0
    out[:, :, 0, :, 0] = 0
    out[:, :, w, :, 1] = 0
    xt = x.transpose(0, 2, 3, 1)
    # Input row r is padded row r + 1 = 2 i + p: even rows are phase 1.
    out[:, :h, :w, 1, 1] = xt[:, 0::2, 0::2]
    out[:, :h, 1:, 1, 0] = xt[:, 0::2, 1::2]
    out[:, 1:, :w, 0, 1] = xt[:, 1::2, 0::2]
    out[:, 1:, 1:, 0, 0] = xt[:, 1::2, 1::2]
    return out


def _depth_to_space(xs, out):
    """Inverse of :func:`_space_to_depth` without the pad: ``xs`` (n, h+1,
    w+1, 2, 2, C) -> ``out`` (n, C, 2h, 2w)."""
    h, w = xs.shape[1] - 1, xs.shape[2] - 1
    ot = out.transpose(0, 2, 3, 1)
    ot[:, 0::2, 0::2] = xs[:, :h, :w, 1, 1]
    ot[:, 0::2, 1::2] = xs[:, :h, 1:, 1, 0]
    ot[:, 1::2, 0::2] = xs[:, 1:, :w, 0, 1]
    ot[:, 1::2, 1::2] = xs[:, 1:, 1:, 0, 0]
    return out


def _shifts(a, h, w, sign):
    """View (n, h, w, 2, 2, K) of ``a`` (n, ., ., K) with v[:, i, j, di, dj]
    = a[:, i + sign di, j + sign dj]: copied in one assignment, about twice
    as fast as four slice assignments (measured for every layer here)."""
    s = a.strides
    return numpy.lib.stride_tricks.as_strided(
        a, (a.shape[0], h, w, 2, 2, a.shape[3]),
        (s[0], s[1], s[2], sign * s[1], sign * s[2], s[3]), writeable=False)


def _im2col(xs, out):
    """``xs`` (n, h+1, w+1, 2, 2, C) -> columns ``out`` (n h w, 16 C) in
    order [di, dj, p, q, c]: four contiguous shifted slices."""
    n, h1, w1 = xs.shape[:3]
    h, w = h1 - 1, w1 - 1
    out.reshape(n, h, w, 2, 2, -1)[...] = _shifts(
        xs.reshape(n, h1, w1, -1), h, w, 1)
    return out


def _col2im(gcol, out):
    """Adjoint of :func:`_im2col`: (n h w, 16 C) -> ``out`` (n, h+1, w+1, 2,
    2, C)."""
    n, h1, w1 = out.shape[:3]
    h, w = h1 - 1, w1 - 1
    gcol = gcol.reshape(n, h, w, 2, 2, -1)
    gxs = out.reshape(n, h1, w1, -1)
    # The first shift covers all but the last row and column.
    gxs[:, :h, :w] = gcol[:, :, :, 0, 0]
    gxs[:, h] = 0
    gxs[:, :h, w] = 0
    gxs[:, :h, 1:] += gcol[:, :, :, 0, 1]
    gxs[:, 1:, :w] += gcol[:, :, :, 1, 0]
    gxs[:, 1:, 1:] += gcol[:, :, :, 1, 1]
    return out


def _contiguous(view):
    """A C-contiguous copy of ``view``, made by threads in slices along its
    first axis (for weights: a few MB each)."""
    out = numpy.empty(view.shape, view.dtype)

    def part(_, k):
        out[k] = view[k]

    threads.map(part, threads.split(len(view), 8), size=view.size)
    return out


def _w_rows(W):
    """W (O, C, 4, 4) -> (O, 16 C) in column order [di, dj, p, q, c]."""
    O, C = W.shape[:2]
    # Transposing within each output channel's row keeps this cheap; the
    # GEMMs read the result transposed for free.
    return _contiguous(
        W.reshape(O, C, 2, 2, 2, 2).transpose(0, 2, 4, 3, 5, 1)
    ).reshape(O, 16 * C)


def _w_from_rows(Wr, C):
    """Inverse of :func:`_w_rows`: (O, 16 C) -> (O, C, 4, 4)."""
    O = Wr.shape[0]
    return _contiguous(
        Wr.reshape(O, 2, 2, 2, 2, C).transpose(0, 5, 1, 3, 2, 4)
    ).reshape(O, C, 4, 4)


def _largest(chunks):
    return max(b1 - b0 for b0, b1 in chunks)


def _column_chunks(x):
    """Batch slices of ``x`` (B, C, H, W) for its (n h w, 16 C) columns."""
    B, C, H, W = x.shape
    return _chunks(B, (H // 2) * (W // 2), 16 * C * x.itemsize)


def _sum_in_order(parts):
    """``parts[0] + parts[1] + ...`` added in that order, into ``parts[0]``,
    as a loop over the chunks would."""
    acc = parts[0]
    for part in parts[1:]:
        acc += part
    return acc


class _Columns(object):
    """Columns (n h w, 16 C) of batch slices of a (B, C, H, W) input ``x``,
    in reused buffers for up to ``n`` samples (one per thread)."""

    def __init__(self, x, n):
        self.x = x
        B, C, H, W = x.shape
        self.h, self.w = h, w = H // 2, W // 2
        self.xs_buf = numpy.empty((n, h + 1, w + 1, 2, 2, C), x.dtype)
        self.col_buf = numpy.empty((n * h * w, 16 * C), x.dtype)

    def chunk(self, b0, b1):
        """Columns of samples ``b0:b1``, valid until the next call."""
        n = b1 - b0
        #: The space-to-depth input of the last chunk.
        self.xs = _space_to_depth(self.x[b0:b1], self.xs_buf[:n])
        return _im2col(self.xs, self.col_buf[:n * self.h * self.w])


def _rows(y, out):
    """NCHW (n, O, h, w) -> ``out`` (n h w, O), channels last."""
    n, O, h, w = y.shape
    out.reshape(n, h, w, O)[...] = y.transpose(0, 2, 3, 1)
    return out


def _conv_forward(x, W, b, Wr=None):
    """y (B, O, H/2, W/2) of the convolution of x (B, C, H, W) with W (O, C,
    4, 4), plus b (O,) if not None. ``Wr``: ``W`` as :func:`_w_rows` gives
    it, if already built."""
    B, C, H, Wd = x.shape
    h, w = H // 2, Wd // 2
    O = W.shape[0]
    Wt = (_w_rows(W) if Wr is None else Wr).T
    y = numpy.empty((B, O, h, w), x.dtype)
    chunks = _column_chunks(x)
    n = _largest(chunks)

    def buffers():
        return _Columns(x, n), numpy.empty((n * h * w, O), x.dtype)

    def chunk(state, b0_b1):
        columns, y_buf = state
        col = columns.chunk(*b0_b1)
        yr = numpy.matmul(col, Wt, out=y_buf[:len(col)])
        if b is not None:
            yr += b
        _store_nchw(yr, y[slice(*b0_b1)])

    threads.map(chunk, chunks, buffers, size=x.size)
    return y


def _use_phases(O, C, h, w, need_x=True):
    """Whether the gradients of a convolution with ``C`` input and ``O``
    output channels and an (h, w) output take the phase form (see
    :class:`_GradX` and :func:`_conv_backward_phases`); ``need_x``: whether
    the input gradient is wanted, or only the weight gradient.

    The phase form builds ``4 O`` and ``4 C`` wide arrays per position where
    the plain form builds ``16 C`` wide columns (and, for the input
    gradient, adds them back: col2im), but its pad ring adds rows, and GEMM
    work, in proportion ``(h+1)(w+1) / (h w)``: 31% on an 8x6 map. Measured
    on every layer shape of the demo's and the paper's networks: with the
    input gradient it wins where that ring is small or where ``C <= 64``
    (the copies then outweigh the GEMMs); for the weight gradient alone,
    where the ring is small and ``4 O < 16 C``.
    """
    small_ring = 5 * (h + 1) * (w + 1) <= 6 * h * w
    if need_x:
        return small_ring or C <= 64
    return small_ring and O < 4 * C


class _GradX(object):
    """The convolution's input gradient = the deconvolution, by chunks.

    For ``W`` (O, C, 4, 4) and an output gradient (n, O, h, w), the input
    gradient (n, C, 2h, 2w) is, in space-to-depth form (n, h+1, w+1, 2, 2,
    C), either

    * ``col2im`` of the GEMM ``rows (n h w, O) @ W (O, 16 C)``: four
      overlapping shifted adds; or
    * the *phase* form: a 2x2 convolution over the output gradient padded by
      one, ``cols (n (h+1) (w+1), [di, dj, o]) @ W2 ([di, dj, o], [p, q,
      c])``, with no adds, a GEMM with a 4x deeper sum (better shaped when
      ``O`` is small) on a few more rows (the pad ring).
    """

    def __init__(self, W, n, h, w, dtype, Wr=None, shape=None, phases=None):
        """``W`` (O, C, 4, 4), or None and its ``shape`` when only
        :meth:`phase_columns` will be used; buffers for ``n`` samples, made
        on first use; ``phases``: the form (default: :func:`_use_phases`'s
        choice)."""
        O, C = (W.shape if W is not None else shape)[:2]
        self.n, self.h, self.w, self.C, self.O = n, h, w, C, O
        self.dtype = dtype
        if Wr is None and W is not None:
            Wr = _w_rows(W)
        self.phases = _use_phases(O, C, h, w) if phases is None else phases
        if self.phases and Wr is not None:
            self.W2 = _contiguous(
                Wr.reshape(O, 2, 2, 4 * C).transpose(1, 2, 0, 3)
            ).reshape(4 * O, 4 * C)
        self.Wr = Wr
        self._bufs = None

    def for_thread(self):
        """This form and these weights, with buffers of its own."""
        other = copy.copy(self)
        other._bufs = None
        return other

    def _buffers(self):
        if self._bufs is None:
            n, h, w, C, O = self.n, self.h, self.w, self.C, self.O
            gxs = numpy.empty((n, h + 1, w + 1, 2, 2, C), self.dtype)
            if self.phases:
                self._bufs = (
                    numpy.zeros((n, h + 2, w + 2, O), self.dtype),
                    numpy.empty((n * (h + 1) * (w + 1), 4 * O), self.dtype),
                    gxs)
            else:
                self._bufs = (numpy.empty((n * h * w, O), self.dtype),
                              numpy.empty((n * h * w, 16 * C), self.dtype),
                              gxs)
        return self._bufs

    def phase_columns(self, gy):
        """Phase-form columns (n (h+1) (w+1), 4 O) of ``gy`` (n, O, h, w),
        valid until the next call."""
        n = len(gy)
        gyp, cols, _ = self._buffers()
        return _phase_columns(gy, gyp[:n],
                              cols[:n * (self.h + 1) * (self.w + 1)])

    def chunk(self, gy, out, rows=None, cols=None):
        """Input gradient ``out`` (n, C, 2h, 2w) for ``gy`` (n, O, h, w);
        ``rows`` or ``cols``: ``gy``'s rows (:func:`_rows`) or phase
        columns (:meth:`phase_columns`), if already built."""
        n = len(gy)
        h, w = self.h, self.w
        first, second, gxs = self._buffers()
        gxs = gxs[:n]
        if self.phases:
            if cols is None:
                cols = self.phase_columns(gy)
            numpy.matmul(cols, self.W2,
                         out=gxs.reshape(n * (h + 1) * (w + 1), -1))
        else:
            if rows is None:
                rows = _rows(gy, first[:n * h * w])
            gcol = numpy.matmul(rows, self.Wr, out=second[:n * h * w])
            _col2im(gcol, gxs)
        return _depth_to_space(gxs, out)


def _phase_columns(gy, gyp, out):
    """Columns (n (h+1) (w+1), [di, dj, o]) of ``gy`` (n, O, h, w) padded by
    one: ``gyp`` (n, h+2, w+2, O) is a buffer whose pad ring is zero."""
    n, _, h, w = gy.shape
    gyp[:, 1:h + 1, 1:w + 1] = gy.transpose(0, 2, 3, 1)
    # Shifts of -di, -dj from gyp[:, 1, 1]: the view stays inside gyp.
    out.reshape(n, h + 1, w + 1, 2, 2, -1)[...] = _shifts(
        gyp[:, 1:, 1:], h + 1, w + 1, -1)
    return out


def _store_nchw(rows, out):
    """Channels-last ``rows`` (n h w, O) into ``out`` (n, O, h, w)."""
    n, O, h, w = out.shape
    out[...] = rows.reshape(n, h, w, O).transpose(0, 3, 1, 2)


def _conv_grad_x(gy, W, b=None, Wr=None):
    """Gradient (B, C, 2h, 2w) of the convolution with ``W`` (O, C, 4, 4)
    w.r.t. its input, for output gradient ``gy`` (B, O, h, w): also the
    deconvolution of ``gy`` with ``W``, plus ``b`` (C,) if given."""
    B, O, h, w = gy.shape
    C = W.shape[1]
    gx = numpy.empty((B, C, 2 * h, 2 * w), gy.dtype)
    chunks = _chunks(B, h * w, 16 * C * gy.itemsize)
    grad_x = _GradX(W, _largest(chunks), h, w, gy.dtype, Wr)

    def chunk(grad_x, b0_b1):
        part = slice(*b0_b1)
        out = grad_x.chunk(gy[part], gx[part])
        if b is not None:
            out += b[:, None, None]

    threads.map(chunk, chunks, grad_x.for_thread, size=gx.size)
    return gx


def _conv_grad_w(x, gy):
    """Gradient (O, C, 4, 4) of the convolution of ``x`` (B, C, H, W) w.r.t.
    its weight, for output gradient ``gy`` (B, O, H/2, W/2)."""
    return _conv_backward(x, None, gy, False, True)[1]


def _conv_backward(x, W, gy, need_x, need_w, Wr=None):
    """Gradients ``(gx, gW)`` (None where not needed) of the convolution of
    ``x`` (B, C, H, W) with ``W`` (O, C, 4, 4), for output gradient ``gy``
    (B, O, H/2, W/2), in one pass over batch chunks. ``Wr``: ``W`` as
    :func:`_w_rows` gives it, if already built."""
    B, O, h, w = gy.shape
    C = x.shape[1]
    if _use_phases(O, C, h, w, need_x):
        return _conv_backward_phases(x, W, gy, need_x, need_w, Wr)
    chunks = _column_chunks(x)
    n = _largest(chunks)
    gx = numpy.empty(x.shape, x.dtype) if need_x else None
    grad_x = (_GradX(W, n, h, w, gy.dtype, Wr, phases=False) if need_x
              else None)

    def buffers():
        return (_Columns(x, n), numpy.empty((n * h * w, O), gy.dtype),
                grad_x.for_thread() if need_x else None)

    def chunk(state, b0_b1):
        columns, rows_buf, grad_x = state
        b0, b1 = b0_b1
        rows = part = None
        if need_w:
            rows = _rows(gy[b0:b1], rows_buf[:(b1 - b0) * h * w])
            part = rows.T @ columns.chunk(b0, b1)
        if need_x:
            grad_x.chunk(gy[b0:b1], gx[b0:b1], rows)
        return part

    parts = threads.map(chunk, chunks, buffers, size=x.size)
    return gx, (_w_from_rows(_sum_in_order(parts), C) if need_w else None)


def _w_from_phase_grad(acc):
    """Weight gradient (O, C, 4, 4) from its phase form ``acc`` (4 C, 4 O):
    acc[(p, q, c), (di, dj, o)] is gW[o, c, 2 di + p, 2 dj + q]."""
    C, O = acc.shape[0] // 4, acc.shape[1] // 4
    return _contiguous(
        acc.reshape(2, 2, C, 2, 2, O).transpose(5, 2, 3, 0, 4, 1)
    ).reshape(O, C, 4, 4)


def _conv_backward_phases(x, W, gy, need_x, need_w, Wr=None):
    """:func:`_conv_backward` in the phase form (see :class:`_GradX`).

    The weight gradient is then ``xs^T @ cols``: the space-to-depth input
    (n (h+1) (w+1), [p, q, c]) against the output gradient's phase columns
    (n (h+1) (w+1), [di, dj, o]), which the input gradient uses too; there
    is no 16 C wide column array to build, and the GEMM is better shaped.
    """
    B, O, h, w = gy.shape
    C = x.shape[1]
    positions = (h + 1) * (w + 1)
    chunks = _chunks(B, positions, 4 * (O + C) * x.itemsize)
    n = _largest(chunks)
    grad_x = _GradX(W if need_x else None, n, h, w, gy.dtype, Wr,
                    shape=(O, C), phases=True)
    gx = numpy.empty(x.shape, x.dtype) if need_x else None

    def buffers():
        return (grad_x.for_thread(),
                numpy.empty((n, h + 1, w + 1, 2, 2, C), x.dtype)
                if need_w else None)

    def chunk(state, b0_b1):
        grad_x, xs_buf = state
        b0, b1 = b0_b1
        cols = grad_x.phase_columns(gy[b0:b1])
        part = None
        if need_w:
            xs = _space_to_depth(x[b0:b1], xs_buf[:b1 - b0])
            part = xs.reshape(-1, 4 * C).T @ cols
        if need_x:
            grad_x.chunk(gy[b0:b1], gx[b0:b1], cols=cols)
        return part

    parts = threads.map(chunk, chunks, buffers, size=x.size)
    return gx, (_w_from_phase_grad(_sum_in_order(parts)) if need_w else None)


def _deconv_backward(x, W, gy, need_x, need_w, Wr=None):
    """Gradients ``(gx, gW)`` of the deconvolution of ``x`` (B, C, h, w) with
    ``W`` (C, O, 4, 4), for output gradient ``gy`` (B, O, 2h, 2w): ``gx`` is
    the convolution of ``gy`` with ``W``, ``gW`` that convolution's weight
    gradient for output gradient ``x``; both use ``gy``'s columns (``gW``
    in the phase form where it pays, as in :func:`_conv_backward_phases`).
    """
    B, C, h, w = x.shape
    O = gy.shape[1]
    chunks = _column_chunks(gy)
    n = _largest(chunks)
    # With the input gradient, gy's columns are built anyway and the plain
    # weight gradient reuses them: the phase form pays only without it.
    phases = need_w and not need_x and _use_phases(C, O, h, w, False)
    if need_x:
        Wt = (_w_rows(W) if Wr is None else Wr).T
        gx = numpy.empty(x.shape, x.dtype)
    phase_x = (_GradX(None, n, h, w, x.dtype, shape=(C, O), phases=True)
               if phases else None)

    def buffers():
        return (_Columns(gy, n),
                numpy.empty((n * h * w, C), x.dtype),
                phase_x.for_thread() if phases else None)

    def chunk(state, b0_b1):
        columns, buf, phase_x = state
        b0, b1 = b0_b1
        col = columns.chunk(b0, b1)
        if need_x:
            _store_nchw(numpy.matmul(col, Wt, out=buf[:len(col)]),
                        gx[b0:b1])
        if phases:
            return (columns.xs.reshape(-1, 4 * O).T
                    @ phase_x.phase_columns(x[b0:b1]))
        if need_w:
            return _rows(x[b0:b1], buf[:len(col)]).T @ col

    parts = threads.map(chunk, chunks, buffers, size=gy.size)
    gW = None
    if phases:
        gW = _w_from_phase_grad(_sum_in_order(parts))
    elif need_w:
        gW = _w_from_rows(_sum_in_order(parts), O)
    return (gx if need_x else None), gW


# ---------------------------------------------------------------------------
# Function nodes. With double backprop on, backward passes are built from
# these nodes, so that the graph goes on through them.
# ---------------------------------------------------------------------------

def _bias_grad(gy):
    """The bias gradient, as Chainer's convolution_2d and deconvolution_2d
    compute it (F.sum's ``x.sum(axis=(0, 2, 3))``, the same floats); with
    first-order gradients only, the sum itself, not a node of its own."""
    if chainer.config.enable_backprop:
        return F.sum(gy, axis=(0, 2, 3))
    return chainer.Variable(gy.array.sum(axis=(0, 2, 3)))


class Convolution4x4S2(function_node.FunctionNode):
    """``F.convolution_2d(x, W, b, stride=2, pad=1)`` for 4x4 ``W``.

    Inputs: ``x`` (B, C, H, W) with H, W even, ``W`` (O, C, 4, 4), optional
    ``b`` (O,), all NumPy arrays of one float dtype. Output: (B, O, H/2, W/2).
    """

    def forward(self, inputs):
        self.retain_inputs((0, 1))
        b = inputs[2] if len(inputs) == 3 else None
        # W's GEMM layout, kept for the backward pass (it costs a copy).
        self.Wr = _w_rows(inputs[1])
        return _conv_forward(inputs[0], inputs[1], b, self.Wr),

    def backward(self, indexes, grad_outputs):
        x, W = self.get_retained_inputs()
        gy, = grad_outputs
        ret = []
        if chainer.config.enable_backprop:
            if 0 in indexes:
                ret.append(Deconvolution4x4S2().apply((gy, W))[0])
            if 1 in indexes:
                ret.append(_ConvolutionGradW().apply((x, gy))[0])
        else:
            # Only first-order gradients: one fused pass, no graph.
            gx, gW = _conv_backward(x.array, W.array, gy.array,
                                    0 in indexes, 1 in indexes, self.Wr)
            ret += [chainer.Variable(g) for g in (gx, gW) if g is not None]
        if 2 in indexes:
            ret.append(_bias_grad(gy))
        return ret


class Deconvolution4x4S2(function_node.FunctionNode):
    """``F.deconvolution_2d(x, W, b, stride=2, pad=1)`` for 4x4 ``W``.

    Inputs: ``x`` (B, C, h, w), ``W`` (C, O, 4, 4) (Chainer's deconvolution
    layout), optional ``b`` (O,), NumPy arrays of one float dtype. Output:
    (B, O, 2h, 2w).
    """

    def forward(self, inputs):
        self.retain_inputs((0, 1))
        b = inputs[2] if len(inputs) == 3 else None
        self.Wr = _w_rows(inputs[1])
        return _conv_grad_x(inputs[0], inputs[1], b, self.Wr),

    def backward(self, indexes, grad_outputs):
        x, W = self.get_retained_inputs()
        gy, = grad_outputs
        ret = []
        if chainer.config.enable_backprop:
            if 0 in indexes:
                ret.append(Convolution4x4S2().apply((gy, W))[0])
            if 1 in indexes:
                ret.append(_ConvolutionGradW().apply((gy, x))[0])
        else:
            gx, gW = _deconv_backward(x.array, W.array, gy.array,
                                      0 in indexes, 1 in indexes, self.Wr)
            ret += [chainer.Variable(g) for g in (gx, gW) if g is not None]
        if 2 in indexes:
            ret.append(_bias_grad(gy))
        return ret


class _ConvolutionGradW(function_node.FunctionNode):
    """Weight gradient (O, C, 4, 4) of the convolution of ``x`` (B, C, H, W)
    for its output gradient ``gy`` (B, O, H/2, W/2)."""

    def forward(self, inputs):
        self.retain_inputs((0, 1))
        return _conv_grad_w(*inputs),

    def backward(self, indexes, grad_outputs):
        x, gy = self.get_retained_inputs()
        ggW, = grad_outputs
        ret = []
        if 0 in indexes:
            ret.append(Deconvolution4x4S2().apply((gy, ggW))[0])
        if 1 in indexes:
            ret.append(Convolution4x4S2().apply((x, ggW))[0])
        return ret


# ---------------------------------------------------------------------------
# Public functions.
# ---------------------------------------------------------------------------

def convolution_2d(x, W, b=None, stride=1, pad=0, dilate=1, groups=1):
    """``chainer.functions.convolution_2d``, faster for 4x4 / stride 2 / pad 1
    on NumPy float32/float64 arrays with even spatial sizes; Chainer's own
    where the switch is ``'never'`` (see :mod:`cagan.kernels`).

    Args:
        x: (B, C, H, W) input, array or Variable.
        W: (O, C, kh, kw) filter.
        b: (O,) bias or None.
        stride, pad, dilate, groups: as Chainer's (``cover_all`` is False).

    Returns:
        ~chainer.Variable: (B, O, H', W') of ``x``'s dtype.
    """
    if not _fast(x, W, b, stride, pad, dilate, groups, x_channel_axis=1):
        return F.convolution_2d(x, W, b, stride, pad, dilate=dilate,
                                groups=groups)
    inputs = (x, W) if b is None else (x, W, b)
    return Convolution4x4S2().apply(inputs)[0]


def deconvolution_2d(x, W, b=None, stride=1, pad=0, outsize=None, dilate=1,
                     groups=1):
    """``chainer.functions.deconvolution_2d``, faster for 4x4 / stride 2 /
    pad 1 on NumPy float32/float64 arrays; Chainer's own where the switch
    is ``'never'`` (see :mod:`cagan.kernels`).

    Args:
        x: (B, C, h, w) input, array or Variable.
        W: (C, O, kh, kw) filter (Chainer's deconvolution layout).
        b: (O,) bias or None.
        stride, pad, outsize, dilate, groups: as Chainer's.

    Returns:
        ~chainer.Variable: (B, O, H', W'), (B, O, 2h, 2w) on the fast path.
    """
    shape = x.shape
    fast = _fast(x, W, b, stride, pad, dilate, groups, x_channel_axis=0)
    if fast and outsize is not None and tuple(outsize) != (None, None):
        fast = tuple(outsize) == (2 * shape[2], 2 * shape[3])
    if not fast:
        return F.deconvolution_2d(x, W, b, stride, pad, outsize,
                                  dilate=dilate, groups=groups)
    inputs = (x, W) if b is None else (x, W, b)
    return Deconvolution4x4S2().apply(inputs)[0]
