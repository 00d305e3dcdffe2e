"""cagan.run: a run's folder, prepared, cleaned, and its generator found."""

import pytest

from cagan import config, run
from cagan.errors import ConfigError, ModelFileError
from cagan.run import remove_partial
from tests.helpers import tiny_config


def test_another_config_in_the_same_folder_is_refused(tmp_path, data_root):
    out = tmp_path / 'run'
    lock = run.RunLock(out)
    run.prepare(tiny_config(data_root), out, lock)
    with pytest.raises(ConfigError, match='differs in model.ch'):
        run.prepare(config.resolve({'model': {'ch': 16}}, 'test',
                                   tiny_config(data_root)), out, lock)
    lock.release()


def test_remove_partial_keeps_finished_files(tmp_path):
    (tmp_path / 'preview').mkdir()
    keep = ['log', 'snapshot_iter_4', 'gen_epoch_1.npz', 'preview/latest.png',
            'tmp.txt']
    for name in keep:
        (tmp_path / name).write_text('x')
    for name in ('.tmp-abc.png', 'preview/.tmp-x.png'):
        (tmp_path / name).write_text('half')
    for name in ('tmpsnapshot_iter_8abcdefgh', 'log1a2b3c4d'):
        (tmp_path / name).mkdir()
    removed = remove_partial(str(tmp_path))
    assert sorted(removed) == sorted(['.tmp-abc.png', 'preview/.tmp-x.png',
                                      'tmpsnapshot_iter_8abcdefgh',
                                      'log1a2b3c4d'])
    for name in keep:
        assert (tmp_path / name).is_file()


def test_no_demo_model_yet_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # DEFAULT_MODEL is relative: not here
    with pytest.raises(ModelFileError, match='make demo'):
        run.find_weights(run.DEFAULT_MODEL)
