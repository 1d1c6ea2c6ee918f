"""`make package`: the prod stage's deployable artifact in dist/.

    python -m deploy.package [--out dist] [--pkg-format cloudformation|terraform]

1. `chalice package --stage prod` with deploy/template.py's additions merged into the SAM
   template (CloudFormation), or written into chalice.tf.json (Terraform).
2. The zip loses botocore, boto3 and s3transfer: the Lambda Python runtime provides them (and the
   SES sender already relies on the runtime's boto3). PynamoDB's dependency on botocore pulls
   ~16 MB of service models into the zip otherwise (PITFALLS.md: chalice#1043, #843); the package
   test imports the unpacked zip with only these runtime-provided libraries beside it.
3. The zip gains the bytecode of every module it holds. Lambda's /var/task is read-only, so a
   package of sources alone is compiled again by every cold start (pydantic, chalice, PynamoDB and
   our own code: most of a cold start). The .pyc files are unchecked-hash ones: valid whatever the
   files' times after unzipping, and read without looking at the source.
"""

import argparse
import compileall
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from py_compile import PycInvalidationMode

from deploy import template

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGE = "prod"
# Provided by the Lambda Python runtime; dropped from the zip.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
MUST_CONTAIN = ("app.py", "chalicelib/__init__.py", "ats_functions/__init__.py")
MAX_ZIP_BYTES = 20 * 1024 * 1024
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say


def _provided_by_runtime(name: str) -> bool:
    top = name.split("/", 1)[0]
    return top in RUNTIME_PROVIDED or any(
        top.startswith(f"{lib}-") and top.endswith(".dist-info") for lib in RUNTIME_PROVIDED
    )


def finish_zip(path: str) -> tuple[int, int]:
    """Rewrite the zip without what the runtime provides and with bytecode beside every module;
    returns (entries dropped, entries kept)."""
    with tempfile.TemporaryDirectory() as tree:
        with zipfile.ZipFile(path) as source:
            kept = [info for info in source.infolist() if not _provided_by_runtime(info.filename)]
            dropped = len(source.infolist()) - len(kept)
            source.extractall(tree, members=kept)
        # force: a .pyc chalice copied from a local __pycache__ would be of another kind.
        if not compileall.compile_dir(
            tree, quiet=1, stripdir=tree, workers=0, force=True, invalidation_mode=PycInvalidationMode.UNCHECKED_HASH
        ):
            raise SystemExit("a module of the package does not compile")
        finished = path + ".finished"
        with zipfile.ZipFile(finished, "w", zipfile.ZIP_DEFLATED) as target:
            for directory, subdirectories, files in os.walk(tree):
                subdirectories.sort()
                for name in sorted(files):
                    full = os.path.join(directory, name)
                    # A fixed time and mode: the same code makes the same zip (and CodeSha256), and
                    # every file is readable by the runtime's user whatever our umask.
                    entry = zipfile.ZipInfo(os.path.relpath(full, tree), date_time=ZIP_TIME)
                    entry.external_attr = 0o100644 << 16
                    with open(full, "rb") as f:
                        target.writestr(entry, f.read(), compress_type=zipfile.ZIP_DEFLATED)
            names = set(target.namelist())
    missing = [name for name in MUST_CONTAIN if name not in names]
    if missing:
        raise SystemExit(f"the package lacks {missing}")
    os.replace(finished, path)
    return dropped, len(names)


def check_runtime(generated: dict) -> None:
    """The bytecode is this interpreter's: the functions must run on the same Python."""
    ours = f"python{sys.version_info.major}.{sys.version_info.minor}"
    runtimes = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("Runtime", "runtime") and isinstance(value, str):
                    runtimes.add(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(generated)
    if runtimes != {ours}:
        raise SystemExit(f"the functions run on {sorted(runtimes)}, the bytecode is for {ours}")


def chalice(*args: str) -> None:
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"}
    command = [os.path.join(os.path.dirname(sys.executable), "chalice"), "package", "--stage", STAGE, *args]
    # chalice caches the zip it builds under .chalice/deployments and reuses it when it exists: two
    # builds at once (test workers, two terminals) would copy each other's half-written zip.
    cache = os.path.join(ROOT, ".chalice", "deployments")
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, ".build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        subprocess.run(command, cwd=ROOT, env=env, check=True)


def build(out: str, pkg_format: str = "cloudformation") -> str:
    """Build into `out` (emptied first); returns the zip's path."""
    out = os.path.abspath(out)
    shutil.rmtree(out, ignore_errors=True)
    if pkg_format == "cloudformation":
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as merge:
            json.dump(template.cloudformation(), merge, indent=2)
        try:
            chalice("--merge-template", merge.name, out)
        finally:
            os.unlink(merge.name)
        with open(os.path.join(out, "sam.json")) as f:
            check_runtime(json.load(f))
    else:
        chalice("--pkg-format", "terraform", out)
        path = os.path.join(out, "chalice.tf.json")
        with open(path) as f:
            generated = json.load(f)
        check_runtime(generated)
        with open(path, "w") as f:
            json.dump(template.terraform(generated), f, indent=2)
    zip_path = os.path.join(out, "deployment.zip")
    dropped, kept = finish_zip(zip_path)
    size = os.path.getsize(zip_path)
    print(
        f"{zip_path}: {size / 1e6:.1f} MB, {kept} files "
        f"with bytecode ({dropped} files of {', '.join(RUNTIME_PROVIDED)} left to the Lambda runtime)"
    )
    if size > MAX_ZIP_BYTES:
        raise SystemExit(f"the zip is {size} bytes, over the {MAX_ZIP_BYTES} budget")
    return zip_path


def unpack(zip_path: str, directory: str) -> dict:
    """Lay the zip out as Lambda does, with the runtime-provided libraries (taken from this
    interpreter's) in a directory beside it; returns the environment a `python -S` needs to run
    the functions from there alone, as the runtime would (nothing written beside the code: /var/task
    is read-only)."""
    task, runtime = os.path.join(directory, "task"), os.path.join(directory, "runtime")
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(task)
    os.makedirs(runtime)
    import botocore

    site_packages = os.path.dirname(os.path.dirname(botocore.__file__))
    for name in RUNTIME_PROVIDED:
        os.symlink(os.path.join(site_packages, name), os.path.join(runtime, name))
    return {"PYTHONPATH": f"{task}{os.pathsep}{runtime}", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "dist"))
    parser.add_argument("--pkg-format", choices=["cloudformation", "terraform"], default="cloudformation")
    options = parser.parse_args()
    build(options.out, options.pkg_format)


if __name__ == "__main__":
    main()
