from pulumi_djangoapp.builders import scanner


def pod(*images):
    return {"containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]}


def test_tag_pinned_images_get_the_digest_skip_with_its_reason():
    annotations = scanner.skip_annotations(pod("a:1", "b@sha256:" + "f" * 64))
    assert list(annotations) == ["checkov.io/skip1"]
    assert annotations["checkov.io/skip1"].startswith("CKV_K8S_43=")


def test_digest_pinned_workload_needs_no_scanner_skip():
    assert scanner.skip_annotations(pod("a@sha256:" + "a" * 64, "b@sha256:" + "b" * 64)) == {}
