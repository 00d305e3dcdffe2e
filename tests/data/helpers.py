"""Plain helpers and constants that several test modules share about the
data (no test module imports another)."""

import numpy
from PIL import Image

# ------------------------------------------------ our layout (test_dataset)

#: The frame the datasets fit their images to.
SIZE = (32, 24)


def save(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)


def distinct(k, shape=(40, 30)):
    """Image k: a flat colour of its own, plus a left-only marker stripe, so
    that each image and its mirror are told apart after resizing."""
    a = numpy.zeros(shape + (3,), numpy.uint8)
    a[...] = ((37 * k) % 200 + 20, (91 * k) % 200 + 20, (53 * k) % 200 + 20)
    a[:, :shape[1] // 4] = 255
    return a


def make_ours(root, n=6, lines=None):
    for k in range(n):
        save(root / 'humans' / 'h{}.png'.format(k), distinct(2 * k))
        save(root / 'articles' / 'a{}.png'.format(k), distinct(2 * k + 1))
    if lines is None:
        lines = ['h{0}.png a{0}.png'.format(k) for k in range(n)]
    (root / 'pairs.txt').write_text('\n'.join(lines) + '\n')
    return root


# ------------------------------------------- names that leave their folder

def outside(root):
    """A readable image outside the dataset ``root``."""
    secret = root.parent / 'secret.png'
    if not secret.exists():
        save(secret, distinct(40))
    return secret


def escape_up(root, folder):
    outside(root)
    return '../../secret.png'


def escape_absolute(root, folder):
    return str(outside(root))


def escape_by_link(root, folder):
    link = root / folder / 'link.png'
    link.symlink_to(outside(root))
    return 'link.png'


ESCAPES = {'..': escape_up, 'absolute': escape_absolute,
           'symlink': escape_by_link}


def with_escape(tmp_path, how, folder='humans', flags=''):
    """Our layout in tmp_path/data whose pairs.txt line 3 names, in
    ``folder``, a file outside the dataset; returns (root, name)."""
    root = make_ours(tmp_path / 'data')
    name = ESCAPES[how](root, folder)
    pair = [name, 'a2.png'] if folder == 'humans' else ['h2.png', name]
    (root / 'pairs.txt').write_text('h0.png a0.png\nh1.png a1.png\n{}\n'
                                    .format(' '.join(pair + [flags])))
    return root, name


# ------------------------------------------- the pixel limit (test_images)

def write_png_of_zeros(path, width, height):
    """A real one-bit greyscale PNG of ``width`` x ``height`` black pixels,
    written row by row: what ``Image.new('1', (width, height)).save(path)``
    writes, without the 1.6 GB and 8 s that Pillow takes to build a
    40000x40000 one in memory first."""
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data
                + struct.pack('>I', zlib.crc32(kind + data)))

    packer = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the bits
    body = b''.join(packer.compress(row) for _ in range(height))
    header = struct.pack('>IIBBBBB', width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header)
                     + chunk(b'IDAT', body + packer.flush())
                     + chunk(b'IEND', b''))
    return path


def forbid_decoding(monkeypatch):
    """From now on, any decoding fails loudly: the limit must refuse from
    the header alone."""
    from PIL import ImageFile

    def load(self, *args, **kwargs):
        raise AssertionError('an image over the limit was decoded')

    monkeypatch.setattr(Image.Image, 'load', load)
    monkeypatch.setattr(ImageFile.ImageFile, 'load', load)
