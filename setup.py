from setuptools import find_packages, setup

setup(
    name='cagan',
    version='0.1.0',
    description='Conditional Analogy GAN (CAGAN) virtual try-on in Chainer',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['cagan', 'cagan.*']),
    python_requires='>=3.9',
    # chainer 7.8.1 is a source release whose setup.py imports pkg_resources:
    # build it with setuptools<74 (constraints.txt, see README).
    install_requires=[
        'chainer==7.8.1',
        'numpy',
        'pillow',
        'matplotlib',
        'pyyaml',
        'threadpoolctl',
    ],
    # Exporting a generator to ONNX, running it without Chainer and serving
    # it (scripts/export.py, swap.py --model gen.onnx, serve.py).
    extras_require={'serve': ['onnx', 'onnxruntime', 'starlette', 'uvicorn',
                              'python-multipart']},
)
