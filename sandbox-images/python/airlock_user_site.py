# Loaded at every python start by airlock-user-site.pth (python's site module runs a .pth's `import` lines):
# puts the user site, where pip installs (/etc/pip.conf: `user = true`; HOME=/tmp, so
# /tmp/.local/lib/python3.11/site-packages), on sys.path where python itself would (before the dist-packages),
# also under `python3 -I` (jobs, the pre-started interpreter, the session kernel), which turns the user site off.
# Invariant: a package a run pip-installs imports in that same run. The folder does not exist when python starts,
# and python would cache "no finder" for it at the first import it scans past (site's own sitecustomize lookup);
# a FileFinder registered now re-reads the folder once its mtime changes, as it does for any folder on sys.path.
import site
import sys
from importlib.machinery import (
    BYTECODE_SUFFIXES,
    EXTENSION_SUFFIXES,
    SOURCE_SUFFIXES,
    ExtensionFileLoader,
    FileFinder,
    SourceFileLoader,
    SourcelessFileLoader,
)


def _add_user_site():
    path = site.getusersitepackages()
    if path in sys.path:
        return
    packages = [i for i, entry in enumerate(sys.path) if entry.endswith("-packages")]
    sys.path.insert(packages[0] if packages else len(sys.path), path)
    sys.path_importer_cache.setdefault(
        path,
        FileFinder(
            path,
            (ExtensionFileLoader, EXTENSION_SUFFIXES),
            (SourceFileLoader, SOURCE_SUFFIXES),
            (SourcelessFileLoader, BYTECODE_SUFFIXES),
        ),
    )


_add_user_site()
