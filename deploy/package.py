"""`make package`: the prod stage's deployable artifact in dist/.

    python -m deploy.package [--out dist] [--pkg-format cloudformation|terraform]

1. `chalice package --stage prod` with deploy/template.py's additions merged into the SAM
   template (CloudFormation), or written into chalice.tf.json (Terraform).
2. The zip loses botocore, boto3 and s3transfer: the Lambda Python runtime provides them (and the
   SES sender already relies on the runtime's boto3). PynamoDB's dependency on botocore pulls
   ~16 MB of service models into the zip otherwise (PITFALLS.md: chalice#1043, #843); the package
   test imports the unpacked zip with only these runtime-provided libraries beside it.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

from deploy import template

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGE = "prod"
# Provided by the Lambda Python runtime; dropped from the zip.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
MUST_CONTAIN = ("app.py", "chalicelib/__init__.py", "ats_functions/__init__.py")
MAX_ZIP_BYTES = 20 * 1024 * 1024


def _provided_by_runtime(name: str) -> bool:
    top = name.split("/", 1)[0]
    return top in RUNTIME_PROVIDED or any(top.startswith(f"{lib}-") and top.endswith(".dist-info")
                                          for lib in RUNTIME_PROVIDED)


def trim_zip(path: str) -> tuple[int, int]:
    """Rewrite the zip without what the runtime provides; returns (entries dropped, entries kept)."""
    trimmed = path + ".trimmed"
    dropped = kept = 0
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(trimmed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if _provided_by_runtime(info.filename):
                dropped += 1
                continue
            target.writestr(info, source.read(info), compress_type=zipfile.ZIP_DEFLATED)
            kept += 1
        names = set(target.namelist())
    missing = [name for name in MUST_CONTAIN if name not in names]
    if missing:
        raise SystemExit(f"the package lacks {missing}")
    os.replace(trimmed, path)
    return dropped, kept


def chalice(*args: str) -> None:
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"}
    command = [os.path.join(os.path.dirname(sys.executable), "chalice"), "package", "--stage", STAGE, *args]
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
    else:
        chalice("--pkg-format", "terraform", out)
        path = os.path.join(out, "chalice.tf.json")
        with open(path) as f:
            generated = json.load(f)
        with open(path, "w") as f:
            json.dump(template.terraform(generated), f, indent=2)
    zip_path = os.path.join(out, "deployment.zip")
    dropped, kept = trim_zip(zip_path)
    size = os.path.getsize(zip_path)
    print(f"{zip_path}: {size / 1e6:.1f} MB, {kept} files "
          f"({dropped} files of {', '.join(RUNTIME_PROVIDED)} left to the Lambda runtime)")
    if size > MAX_ZIP_BYTES:
        raise SystemExit(f"the zip is {size} bytes, over the {MAX_ZIP_BYTES} budget")
    return zip_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "dist"))
    parser.add_argument("--pkg-format", choices=["cloudformation", "terraform"], default="cloudformation")
    options = parser.parse_args()
    build(options.out, options.pkg_format)


if __name__ == "__main__":
    main()
