"""Shared pytest set-up: make the collection importable as ansible_collections.mydocker.runtime."""
import importlib.util
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collection_path():
    """scripts/collection_path.py does it; the link, when one is needed, is one per checkout (a hash
    of its path in the name), so suites of two checkouts can run side by side."""
    spec = importlib.util.spec_from_file_location("mydocker_collection_path",
                                                  os.path.join(REPO, "scripts", "collection_path.py"))
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    return helper.use(REPO, base=helper.link_dir(REPO, prefix="mydocker-pytest-collections"))


_collection_path()
