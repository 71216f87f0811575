import pytest

from pulumi_djangoapp.settings import config_files
from pulumi_djangoapp.settings.checks import Problems


def gather(files=None, directory=None):
    problems = Problems()
    result = config_files.gather(problems, files, directory)
    return result, {(p.field, p.value): p.allowed for p in problems.items}


@pytest.mark.parametrize(
    "name", ["", "  ", "/etc/passwd", "../secrets", "a/../../b", "a//b", "with space.txt"]
)
def test_unsafe_or_malformed_file_names_are_refused(name):
    _, problems = gather({name: "x"})
    assert ("config_files", name) in problems


def test_nested_relative_names_are_accepted():
    files, problems = gather({"sub/app.json": "{}", "settings.toml": "a = 1"})
    assert problems == {}
    assert files == (("settings.toml", "a = 1"), ("sub/app.json", "{}"))


def test_missing_config_dir_is_refused(tmp_path):
    _, problems = gather(directory=str(tmp_path / "nope"))
    assert ("config_dir", str(tmp_path / "nope")) in problems


def test_config_dir_is_read_recursively_and_files_override_it(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.toml").write_text("from-dir")
    (tmp_path / "sub" / "b.json").write_text("{}")
    files, problems = gather({"a.toml": "from-args"}, str(tmp_path))
    assert problems == {}
    assert dict(files) == {"a.toml": "from-args", "sub/b.json": "{}"}


def test_binary_files_in_config_dir_are_refused(tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"\xff\xfe\x00")
    _, problems = gather(directory=str(tmp_path))
    assert ("config_dir", "blob.bin") in problems


def test_hash_changes_with_content_and_not_with_order():
    a = config_files.content_hash((("a", "1"), ("b", "2")))
    assert a == config_files.content_hash(tuple(sorted((("b", "2"), ("a", "1")))))
    assert a != config_files.content_hash((("a", "1"), ("b", "3")))
    assert a != config_files.content_hash((("a", "1"),))
