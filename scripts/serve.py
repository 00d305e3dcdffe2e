"""Serve try-ons over HTTP: an exported generator behind a shop page.

    python scripts/export.py --model results/demo --out gen.onnx
    python scripts/serve.py --model gen.onnx --articles data/synthetic-clean/test/articles

Then open http://127.0.0.1:8000/ (the page), or use the API: GET /articles,
POST /swap (multipart: photo, article, optional alpha=1; answers a PNG),
GET /health (docs/serving.md). Needs the serve extra (pip install -e
.[serve]); runs without Chainer.
"""

import cagan  # noqa: F401  (first: it readies chainer, if it is imported)
from cagan import cli
from cagan.errors import CaganError


def main(argv=None):
    from cagan.serving import app as serve
    parser = cli.ArgumentParser(prog='serve.py',
                                description=__doc__.splitlines()[0])
    parser.add_argument('--model', required=True,
                        help='a .onnx file from scripts/export.py')
    parser.add_argument('--articles', required=True,
                        help='a folder of article photos (the catalogue; '
                        'ids are the file names without extension)')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default: %(default)s)')
    parser.add_argument('--port', type=cli.at_least(1), default=8000,
                        help='port (default: %(default)s)')
    parser.add_argument('--workers', type=cli.at_least(1), default=2,
                        help='swap processes, each with the model loaded '
                        'once (default: %(default)s)')
    parser.add_argument('--max-bytes', type=cli.at_least(1),
                        default=serve.MAX_UPLOAD_BYTES,
                        help='largest upload (default: %(default)s)')
    parser.add_argument('--max-pixels', type=cli.at_least(1),
                        default=serve.MAX_PHOTO_PIXELS,
                        help='most pixels in a photo (default: %(default)s)')
    args = parser.parse_args(argv)
    app = serve.make_app(args.model, args.articles, args.workers,
                         args.max_bytes, args.max_pixels)
    try:
        import uvicorn
    except ImportError:
        raise CaganError('the service needs uvicorn: pip install -e '
                         '.[serve]') from None
    uvicorn.run(app, host=args.host, port=args.port, log_level='warning')


if __name__ == '__main__':
    cli.run(main)
