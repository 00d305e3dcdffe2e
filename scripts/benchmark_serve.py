"""How fast an exported generator swaps and how much the service takes.

    python scripts/export.py --model results/demo --out gen.onnx
    python scripts/benchmark_serve.py --model gen.onnx --run results/demo \
        --articles data/synthetic-clean/test/articles

1. The latency of one swap of a 1024x768 photo (fitting, the model, pasting
   back at the photo's size), median of ``--repeats``: through onnxruntime
   and, with ``--run`` (the run folder the file came from), through
   Chainer, in this process, taking turns.
2. scripts/serve.py started on a free local port; then for each of
   ``--clients`` (default 1, 4 and 16) that many clients POST /swap with a
   1024x768 photo back to back for ``--seconds`` each: requests per second,
   p50 and p99 latency, and failed requests (any answer but 200).

One JSON line per figure, then a table. Not a test: nothing here passes or
fails. Needs the serve extra; Chainer only with --run.
"""

import http.client
import io
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import cagan  # noqa: F401  (first: it readies chainer, if it is imported)
import numpy
from PIL import Image

from cagan import cli
from cagan.serving import tryon
from cagan.errors import CaganError

PHOTO = (1024, 768)


def photo_bytes():
    rng = numpy.random.default_rng(0)
    # A smooth picture (not noise), so PNG decoding costs what a photo's does.
    y, x = numpy.mgrid[0:PHOTO[0], 0:PHOTO[1]]
    image = numpy.stack([(x * 255 // PHOTO[1]), (y * 255 // PHOTO[0]),
                         numpy.full_like(x, 128)], -1).astype(numpy.uint8)
    image[rng.random(image.shape[:2]) < 0.01] = 0
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format='JPEG', quality=90)
    return image, buffer.getvalue()


def latency(model, run_folder, article, repeats):
    from cagan.serving.onnx_model import OnnxGenerator
    human, _ = photo_bytes()
    onnx = OnnxGenerator(model)
    sides = {'onnxruntime': lambda: tryon.dress(onnx.swap, onnx.size, human,
                                                [article])}
    if run_folder:
        from cagan import inference, run
        gen, _, _ = run.load_generator(run_folder)
        sides['chainer'] = lambda: inference.swap_photos(gen, human,
                                                         [article])
    times = {name: [] for name in sides}
    for swap in sides.values():
        swap()  # warm-up
    for _ in range(repeats):
        for name, swap in sides.items():
            start = time.perf_counter()
            swap()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def load(port, article, clients, seconds, body):
    boundary = uuid.uuid4().hex
    payload = b''.join([
        '--{}\r\nContent-Disposition: form-data; name="article"\r\n\r\n{}'
        '\r\n'.format(boundary, article).encode(),
        '--{}\r\nContent-Disposition: form-data; name="photo"; filename='
        '"me.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.format(
            boundary).encode(), body, '\r\n--{}--\r\n'.format(
                boundary).encode()])
    headers = {'Content-Type': 'multipart/form-data; boundary=' + boundary}
    times, failures = [], []
    lock = threading.Lock()
    end = time.perf_counter() + seconds

    def client():
        connection = http.client.HTTPConnection('127.0.0.1', port,
                                                timeout=120)
        while time.perf_counter() < end:
            start = time.perf_counter()
            try:
                connection.request('POST', '/swap', payload, headers)
                answer = connection.getresponse()
                answer.read()
                ok = answer.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection('127.0.0.1', port,
                                                        timeout=120)
            with lock:
                (times if ok else failures).append(
                    time.perf_counter() - start)
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    times.sort()
    return {'clients': clients, 'requests': len(times),
            'failed': len(failures), 'rps': len(times) / wall,
            'p50_ms': 1000 * statistics.median(times) if times else None,
            'p99_ms': (1000 * times[min(len(times) - 1,
                                        int(0.99 * len(times)))]
                       if times else None)}


def main(argv=None):
    parser = cli.ArgumentParser(prog='benchmark_serve.py',
                                description=__doc__.splitlines()[0])
    parser.add_argument('--model', required=True, help='a .onnx file')
    parser.add_argument('--articles', required=True,
                        help='the catalogue folder for the service')
    parser.add_argument('--run', default=None,
                        help='the run folder the model came from: also '
                        'time the swap through Chainer')
    parser.add_argument('--repeats', type=cli.at_least(1), default=10)
    parser.add_argument('--clients', type=cli.at_least(1), nargs='+',
                        default=[1, 4, 16])
    parser.add_argument('--seconds', type=cli.at_least(1, float),
                        default=30.0)
    parser.add_argument('--workers', type=cli.at_least(1), default=2,
                        help="the service's worker processes (default "
                        '%(default)s)')
    args = parser.parse_args(argv)
    from cagan.serving import app as serve
    catalogue = serve.read_catalogue(args.articles)
    article_id = sorted(catalogue)[0]
    rows = []
    for name, seconds in latency(args.model, args.run, catalogue[article_id],
                                 args.repeats).items():
        rows.append({'figure': 'swap_latency', 'path': name,
                     'photo': '{}x{}'.format(*PHOTO),
                     'seconds': round(seconds, 4)})
        print(json.dumps(rows[-1]), flush=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        log = open(Path(folder) / 'serve.log', 'w')
        server = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name('serve.py')),
             '--model', args.model, '--articles', args.articles, '--port',
             str(port), '--workers', str(args.workers)],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait(port, server, Path(folder) / 'serve.log')
            _, body = photo_bytes()
            for clients in args.clients:
                rows.append(dict({'figure': 'service', 'workers':
                                  args.workers},
                                 **load(port, article_id, clients,
                                        args.seconds, body)))
                print(json.dumps(rows[-1]), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    print()
    for row in rows:
        if row['figure'] == 'swap_latency':
            print('swap of a {photo} photo, {path}: {seconds:.3f} s'.format(
                **row))
    print('{:>8s} {:>9s} {:>7s} {:>8s} {:>8s} {:>7s}'.format(
        'clients', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'failed'))
    for row in rows:
        if row['figure'] == 'service':
            print('{clients:8d} {requests:9d} {rps:7.1f} {p50_ms:8.1f} '
                  '{p99_ms:8.1f} {failed:7d}'.format(**row))


def _wait(port, server, log):
    for _ in range(600):
        try:
            connection = http.client.HTTPConnection('127.0.0.1', port,
                                                    timeout=1)
            connection.request('GET', '/health')
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        if server.poll() is not None:
            raise CaganError('the service did not start: ' + ' '.join(
                log.read_text().strip().splitlines()[-1:]))
        time.sleep(0.1)
    raise CaganError('the service did not answer /health within a minute')


if __name__ == '__main__':
    cli.run(main)
