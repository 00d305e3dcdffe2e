"""A try-on service over HTTP: an exported generator behind a shop page.

``scripts/serve.py`` runs :func:`make_app` under uvicorn. Routes:

* ``GET /``: the page (the catalogue as thumbnails, an upload field for a
  person's photo, the try-on beside the photo, the alpha map on request);
* ``GET /articles``: ``[{"id", "name", "thumbnail"}]``, JSON;
* ``GET /articles/{id}.png``: an article's thumbnail;
* ``POST /swap``: multipart ``photo`` (the person's photo) and ``article``
  (an id), optional ``alpha=1`` for the alpha map; answers a PNG of the
  person, at the photo's size, wearing the article;
* ``GET /health``: ``{"status": "ok", ...}``, JSON.

Swaps run in a bounded pool of worker processes, each with the ONNX model
and the catalogue loaded once (onnxruntime on one thread each: the
processes are the parallelism). A bad request (a photo too large in bytes
or pixels, not an image, damaged, an unknown article, a missing field) is
a 4xx with a one-line JSON ``{"error": ...}``; the service never dies on
one. Nothing here imports Chainer.
"""

import asyncio
import contextlib
import html
import io
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy
from PIL import Image

from cagan.serving import tryon
from cagan.data import images
from cagan.errors import CaganError, ImageError, PixelLimitError

#: Largest upload accepted, in bytes, by default (a large phone photo).
MAX_UPLOAD_BYTES = 12 << 20
#: Most pixels a photo may have, by default (about 24 megapixels).
MAX_PHOTO_PIXELS = 24_000_000
#: Article photos the catalogue takes.
ARTICLE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.webp')
THUMBNAIL = 160


def read_catalogue(folder):
    """``{id: uint8 (H, W, 3)}`` of the article photos in ``folder`` (ids
    are the file stems, sorted).

    Raises:
        cagan.errors.CaganError: the folder is missing or has no article
            photo; an article that cannot be read (one line naming it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CaganError('{}: no such articles folder'.format(folder))
    paths = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in ARTICLE_SUFFIXES)
    if not paths:
        raise CaganError('{}: no article photos ({}) in it'.format(
            folder, ', '.join(ARTICLE_SUFFIXES)))
    return {p.stem: images.load_rgb(p) for p in paths}


def png_bytes(array):
    """PNG file bytes of a uint8 ``(H, W, 3)`` array or a float ``(H, W)``
    map in [0, 1] (as grey levels)."""
    array = numpy.asarray(array)
    if array.ndim == 2:
        array = (numpy.clip(array, 0, 1) * 255 + 0.5).astype(numpy.uint8)
    buffer = io.BytesIO()
    # The fastest level: a 1024x768 result encodes in a few tens of ms
    # instead of about a hundred, for a somewhat larger file.
    Image.fromarray(array).save(buffer, format='PNG', compress_level=1)
    return buffer.getvalue()


class _Upload(io.BytesIO):
    """Uploaded bytes, named in error lines as 'the photo'."""

    def __str__(self):
        return 'the photo'


# One worker process's model and catalogue, loaded once by _start_worker.
_worker = {}


def _start_worker(model_path, articles_folder, max_pixels):
    from cagan.serving.onnx_model import OnnxGenerator
    os.environ[images.MAX_PIXELS_VARIABLE] = str(max_pixels)
    _worker['model'] = OnnxGenerator(model_path, threads=1)
    _worker['articles'] = read_catalogue(articles_folder)


def swap_request(photo, article, alpha=False):
    """In a worker: ``(status, content)``: 200 and PNG bytes, or a 4xx and
    a one-line reason."""
    try:
        human = images.load_rgb(_Upload(photo))
    except PixelLimitError as error:
        return 413, str(error).split(';')[0]
    except ImageError as error:
        return 415 if 'not an image' in str(error) else 400, str(error)
    model = _worker['model']
    swap, = tryon.dress(model.swap, model.size, human,
                        [_worker['articles'][article]])
    return 200, png_bytes(swap.alpha if alpha else swap.result)


def make_app(model_path, articles_folder, workers=2,
             max_bytes=MAX_UPLOAD_BYTES, max_pixels=MAX_PHOTO_PIXELS):
    """The Starlette application.

    Args:
        model_path: a ``.onnx`` file from ``scripts/export.py``.
        articles_folder: the catalogue's photos.
        workers (int): worker processes (each loads the model once).
        max_bytes (int): the largest upload.
        max_pixels (int): the most pixels a photo may have.

    Raises:
        cagan.errors.CaganError: a model or catalogue that cannot be loaded
            (checked here, before anything is served), or the service's
            packages missing.
    """
    try:
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse, JSONResponse, Response
        from starlette.routing import Route
    except ImportError:
        raise CaganError('the service needs starlette, uvicorn and '
                         'python-multipart: pip install -e .[serve]') from None
    from cagan.serving.onnx_model import OnnxGenerator
    model = OnnxGenerator(model_path)
    catalogue = read_catalogue(articles_folder)
    thumbnails = {}
    for name, photo in catalogue.items():
        image = Image.fromarray(photo)
        image.thumbnail((THUMBNAIL, THUMBNAIL))
        thumbnails[name] = png_bytes(numpy.asarray(image))
    state = {'pool': None}
    # Requests past this many in flight wait for a place (backpressure).
    places = asyncio.Semaphore(4 * workers)

    def error(status, reason):
        return JSONResponse({'error': reason}, status_code=status)

    async def page(request):
        return HTMLResponse(_page(catalogue, model.size))

    async def health(request):
        return JSONResponse({'status': 'ok', 'model': str(model_path),
                             'size': list(model.size),
                             'articles': len(catalogue),
                             'workers': workers})

    async def articles(request):
        return JSONResponse([{'id': name, 'name': name,
                              'thumbnail': '/articles/{}.png'.format(name)}
                             for name in catalogue])

    async def thumbnail(request):
        name = request.path_params['name']
        if name not in thumbnails:
            return error(404, 'no article {!r}'.format(name))
        return Response(thumbnails[name], media_type='image/png')

    async def swap(request):
        length = request.headers.get('content-length')
        if length is not None and length.isdigit() and int(length) > max_bytes:
            return error(413, 'the upload is over {} bytes'.format(max_bytes))
        if not request.headers.get('content-type', '').startswith(
                'multipart/form-data'):
            return error(415, 'send multipart/form-data with the fields '
                         'photo and article')
        try:
            form = await request.form(max_files=1, max_fields=4,
                                      max_part_size=max_bytes)
        except Exception as failure:  # malformed multipart bodies
            return error(400, 'unreadable form: {}'.format(
                str(failure).splitlines()[0] if str(failure) else
                type(failure).__name__))
        try:
            article = form.get('article')
            upload = form.get('photo')
            if not article:
                return error(400, 'missing field: article (an id from '
                             'GET /articles)')
            if article not in catalogue:
                return error(404, 'no article {!r} (see GET /articles)'.format(
                    article))
            if upload is None or isinstance(upload, str):
                return error(400, 'missing field: photo (a file)')
            photo = await upload.read(max_bytes + 1)
            if len(photo) > max_bytes:
                return error(413, 'the upload is over {} bytes'.format(
                    max_bytes))
            if not photo:
                return error(400, 'the photo is empty')
            alpha = form.get('alpha') in ('1', 'true', 'on')
        finally:
            await form.close()
        async with places:
            status, content = await asyncio.get_running_loop() \
                .run_in_executor(state['pool'], swap_request, photo,
                                 article, alpha)
        if status != 200:
            return error(status, content)
        return Response(content, media_type='image/png')

    @contextlib.asynccontextmanager
    async def lifespan(app):
        state['pool'] = ProcessPoolExecutor(
            workers, initializer=_start_worker,
            initargs=(str(model_path), str(articles_folder), max_pixels))
        try:
            yield
        finally:
            state['pool'].shutdown(cancel_futures=True)

    app = Starlette(routes=[
        Route('/', page), Route('/health', health),
        Route('/articles', articles),
        Route('/articles/{name}.png', thumbnail),
        Route('/swap', swap, methods=['POST'])],
        lifespan=lifespan)
    return app


def _page(catalogue, size):
    items = '\n'.join(
        '<label class="article"><input type="radio" name="article" '
        'value="{0}"{1}><img src="/articles/{0}.png" alt="{0}">'
        '<span>{0}</span></label>'.format(html.escape(name),
                                          ' checked' if k == 0 else '')
        for k, name in enumerate(catalogue))
    return _PAGE.replace('{ITEMS}', items).replace(
        '{SIZE}', '{}x{}'.format(*size))


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Try it on</title>
<style>
body { font-family: sans-serif; margin: 2em; }
#catalogue { display: flex; flex-wrap: wrap; gap: 1em; }
.article { display: flex; flex-direction: column; align-items: center;
           border: 1px solid #ccc; padding: .5em; cursor: pointer; }
.article img { height: 120px; }
#views { display: flex; gap: 2em; margin-top: 1em; }
#views img { max-height: 480px; }
#message { color: #a00; }
</style></head>
<body>
<h1>Try it on</h1>
<form id="tryon">
<div id="catalogue">
{ITEMS}
</div>
<p><label>Your photo: <input type="file" id="photo" name="photo"
  accept="image/*"></label>
<label><input type="checkbox" id="alpha"> show the repainted region</label>
<button type="submit" id="go">Try it on</button></p>
</form>
<p id="message"></p>
<div id="views"><img id="original" alt=""><img id="result" alt="">
<img id="alphamap" alt=""></div>
<p><small>Model input {SIZE}; the result is at your photo's size.</small></p>
<script>
const form = document.getElementById('tryon');
const photo = document.getElementById('photo');
photo.addEventListener('change', () => {
  if (photo.files[0]) {
    document.getElementById('original').src = URL.createObjectURL(photo.files[0]);
  }
});
async function ask(alpha) {
  const data = new FormData();
  data.append('photo', photo.files[0]);
  data.append('article', form.querySelector('input[name=article]:checked').value);
  if (alpha) data.append('alpha', '1');
  const answer = await fetch('/swap', {method: 'POST', body: data});
  if (!answer.ok) throw new Error((await answer.json()).error);
  return URL.createObjectURL(await answer.blob());
}
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const message = document.getElementById('message');
  message.textContent = '';
  if (!photo.files[0]) { message.textContent = 'Choose a photo first.'; return; }
  try {
    document.getElementById('result').src = await ask(false);
    document.getElementById('alphamap').src =
      document.getElementById('alpha').checked ? await ask(true) : '';
  } catch (failure) {
    message.textContent = failure.message;
  }
});
</script>
</body></html>
"""
