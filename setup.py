from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open('mmgat/version.py') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_requirements(path):
    with open(path) as f:
        return [line.split('#')[0].strip() for line in f
                if line.split('#')[0].strip()]


setup(
    name='mmgat',
    version=read_version(),
    description='Adversarial and generative adversarial training for MMDetection '
                'and MMSegmentation',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tools', 'configs')),
    python_requires='>=3.9',
    # torch and mmcv (compiled with ops) are installed by tools/install_env.sh.
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require={'tests': read_requirements('requirements/tests.txt')},
    license='Apache-2.0',
)
