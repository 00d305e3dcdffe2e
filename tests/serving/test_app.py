"""scripts/serve.py: the try-on service, over real HTTP and in a real
headless browser."""

import contextlib
import io
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import chainer
import numpy
import pytest
from PIL import Image

from cagan import config, run
from tests.helpers import photo

pytest.importorskip('onnx', reason='the serve extra is not installed: pip '
                    'install -e .[serve]')
pytest.importorskip('onnxruntime', reason='the serve extra is not installed')
pytest.importorskip('starlette', reason='the serve extra is not installed')
pytest.importorskip('uvicorn', reason='the serve extra is not installed')

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: Where the browser test leaves its screenshot (kept after the run).
ARTIFACTS = ROOT / 'tests' / 'artifacts'
MAX_BYTES = 200_000
MAX_PIXELS = 400 * 400


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(folder, gen_options=None):
    """scripts/serve.py on a generator exported by scripts/export.py, in
    ``folder``: its URL while it runs."""
    resolved = config.resolve({'data': {'size': [32, 16]},
                               'model': {'ch': 8, 'gen': gen_options or {}}},
                              'test')
    config.save(resolved, folder / run.CONFIG_NAME)
    chainer.serializers.save_npz(str(folder / 'gen_epoch_1.npz'),
                                 run.make_generator(resolved, seed=0))
    model = folder / 'gen.onnx'
    subprocess.run([sys.executable, str(ROOT / 'scripts' / 'export.py'),
                    '--model', str(folder), '--out', str(model)], check=True,
                   capture_output=True)
    articles = folder / 'articles'
    articles.mkdir()
    for k, name in enumerate(('red', 'dots', 'stripes')):
        Image.fromarray(photo((60, 50), k + 1)).save(articles / (name + '.png'))
    port = free_port()
    log = open(folder / 'serve.log', 'w')
    server = subprocess.Popen(
        [sys.executable, str(ROOT / 'scripts' / 'serve.py'), '--model',
         str(model), '--articles', str(articles), '--port', str(port),
         '--workers', '2', '--max-bytes', str(MAX_BYTES), '--max-pixels',
         str(MAX_PIXELS)], stdout=log, stderr=subprocess.STDOUT)
    url = 'http://127.0.0.1:{}'.format(port)
    for _ in range(300):
        try:
            urllib.request.urlopen(url + '/health', timeout=1).read()
            break
        except OSError:
            if server.poll() is not None:
                log.close()
                pytest.fail('the service did not start: ' +
                            (folder / 'serve.log').read_text())
            time.sleep(0.1)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope='module')
def service(tmp_path_factory):
    folder = tmp_path_factory.mktemp('serve')
    with serving(folder) as url:
        yield url, folder


def multipart(fields):
    """A multipart/form-data body of ``{name: str or (filename, bytes)}``."""
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    for name, value in fields.items():
        body.write('--{}\r\n'.format(boundary).encode())
        if isinstance(value, tuple):
            body.write('Content-Disposition: form-data; name="{}"; '
                       'filename="{}"\r\nContent-Type: application/'
                       'octet-stream\r\n\r\n'.format(name, value[0]).encode())
            body.write(value[1])
        else:
            body.write('Content-Disposition: form-data; name="{}"\r\n\r\n'
                       .format(name).encode())
            body.write(value.encode())
        body.write(b'\r\n')
    body.write('--{}--\r\n'.format(boundary).encode())
    return body.getvalue(), 'multipart/form-data; boundary=' + boundary


def post(url, fields, content_type=None):
    body, kind = multipart(fields)
    request = urllib.request.Request(url + '/swap', data=body, method='POST',
                                     headers={'Content-Type':
                                              content_type or kind})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.headers['Content-Type'], answer.read()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers['Content-Type'], answer.read()


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format='PNG')
    return buffer.getvalue()


def test_the_api_answers(service):
    url, _ = service
    health = json.loads(urllib.request.urlopen(url + '/health').read())
    assert health['status'] == 'ok' and health['articles'] == 3
    assert health['size'] == [32, 16]
    articles = json.loads(urllib.request.urlopen(url + '/articles').read())
    assert [a['id'] for a in articles] == ['dots', 'red', 'stripes']
    thumb = urllib.request.urlopen(url + articles[0]['thumbnail']).read()
    assert Image.open(io.BytesIO(thumb)).format == 'PNG'
    status, kind, body = post(url, {'photo': ('me.png', png(photo((90, 70)))),
                                    'article': 'red'})
    assert status == 200 and kind == 'image/png'
    result = Image.open(io.BytesIO(body))
    assert result.size == (70, 90) and result.mode == 'RGB'
    status, _, body = post(url, {'photo': ('me.png', png(photo((90, 70)))),
                                 'article': 'red', 'alpha': '1'})
    alpha = Image.open(io.BytesIO(body))
    assert status == 200 and alpha.size == (70, 90) and alpha.mode == 'L'
    page = urllib.request.urlopen(url + '/').read().decode()
    assert 'type="file"' in page and '/articles/red.png' in page


def test_a_warping_generator_serves(tmp_path):
    # Its file has onnxruntime's GridSample (cagan/export.py).
    with serving(tmp_path, {'warp': 'grid'}) as url:
        status, kind, body = post(url, {'photo': ('me.png',
                                                  png(photo((90, 70)))),
                                        'article': 'dots'})
    assert status == 200 and kind == 'image/png', body
    assert Image.open(io.BytesIO(body)).size == (70, 90)


def bad_requests():
    jpeg = io.BytesIO()
    Image.fromarray(photo((80, 60))).save(jpeg, format='JPEG')
    return {
        'oversized': ({'photo': ('big.png', os.urandom(MAX_BYTES + 10)),
                       'article': 'red'}, None, 413, 'over'),
        'too many pixels': ({'photo': ('wide.png', png(numpy.zeros(
            (401, 401, 3), numpy.uint8))), 'article': 'red'}, None, 413,
            'over the limit'),
        'corrupt': ({'photo': ('cut.jpg', jpeg.getvalue()[:400]),
                     'article': 'red'}, None, 400, 'damaged'),
        'wrong type': ({'photo': ('notes.txt', b'just some text'),
                        'article': 'red'}, None, 415, 'not an image'),
        'unknown article': ({'photo': ('me.png', png(photo((40, 30)))),
                             'article': 'blue'}, None, 404, 'no article'),
        'missing photo': ({'article': 'red'}, None, 400, 'missing field: photo'),
        'missing article': ({'photo': ('me.png', png(photo((40, 30))))}, None,
                            400, 'missing field: article'),
        'not multipart': ({'article': 'red'}, 'application/json', 415,
                          'multipart'),
        'empty photo': ({'photo': ('me.png', b''), 'article': 'red'}, None,
                        400, 'empty'),
    }


@pytest.mark.parametrize('case', sorted(bad_requests()))
def test_a_bad_request_is_a_4xx_with_one_line(service, case):
    url, _ = service
    fields, kind, status, words = bad_requests()[case]
    code, content_type, body = post(url, fields, kind)
    assert code == status, body
    assert content_type == 'application/json'
    reason = json.loads(body)['error']
    assert words in reason and '\n' not in reason
    # The service is still there.
    health = json.loads(urllib.request.urlopen(url + '/health').read())
    assert health['status'] == 'ok'


def test_the_page_tries_on_in_a_headless_browser(service, tmp_path):
    webdriver = pytest.importorskip(
        'selenium.webdriver', reason='selenium is not installed (pip install '
        '-r requirements-test.txt)')
    browser = shutil.which('chromium') or shutil.which('chromium-browser')
    driver_path = shutil.which('chromedriver')
    if not browser or not driver_path:
        pytest.skip('no chromium and chromedriver here (Debian: apt-get '
                    'install chromium chromium-driver)')
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    url, _ = service
    me = tmp_path / 'me.png'
    Image.fromarray(photo((160, 120), 7)).save(me)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu',
                 '--disable-dev-shm-usage', '--window-size=1200,900'):
        options.add_argument(flag)
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=driver_path),
        options=options)
    try:
        driver.get(url + '/')
        driver.find_element(By.CSS_SELECTOR,
                            'input[name=article][value=stripes]').click()
        driver.find_element(By.ID, 'photo').send_keys(str(me))
        driver.find_element(By.ID, 'alpha').click()
        driver.find_element(By.ID, 'go').click()

        def shown(name):
            return driver.execute_script(
                'const i = document.getElementById(arguments[0]);'
                'return i.complete && i.naturalWidth > 0 ? '
                '[i.naturalWidth, i.naturalHeight] : null;', name)
        WebDriverWait(driver, 60).until(
            lambda d: shown('result') and shown('alphamap'))
        assert shown('result') == [120, 160]
        assert shown('alphamap') == [120, 160]
        assert driver.find_element(By.ID, 'message').text == ''
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / 'tryon-page.png'))
    finally:
        driver.quit()
    with Image.open(ARTIFACTS / 'tryon-page.png') as shot:
        assert shot.size[0] >= 800


@pytest.mark.parametrize('case, words', [
    ('no model', 'cannot load it as an ONNX model'),
    ('no articles folder', 'no such articles folder'),
    ('empty articles folder', 'no article photos')])
def test_a_service_that_cannot_start_says_why_in_one_line(service, tmp_path,
                                                         case, words):
    _, folder = service
    model, articles = folder / 'gen.onnx', folder / 'articles'
    if case == 'no model':
        model = tmp_path / 'none.onnx'
    elif case == 'no articles folder':
        articles = tmp_path / 'none'
    else:
        articles = tmp_path
    done = subprocess.run(
        [sys.executable, str(ROOT / 'scripts' / 'serve.py'), '--model',
         str(model), '--articles', str(articles), '--port',
         str(free_port())], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.count('\n') == 1 and words in done.stderr, done.stderr
