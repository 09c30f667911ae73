"""The layers hold (STYLE.md "Layers"): import-linter's contracts in `.importlinter`.

core -> tenants -> integrations -> domain apps -> adapter -> portal shell, each importing
only what lies below it; the domain apps use one another only through services,
selectors and models; the sandbox and the traffic simulator import nothing of the product;
only integrations/kustomer/ speaks Kustomer's wire format.
"""
from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--config", str(CONFIG), "--no-cache"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_app_of_the_product_is_in_a_layer():
    """An app added to INSTALLED_APPS but not to the contracts would escape them."""
    config = configparser.ConfigParser()
    config.read(CONFIG)
    roots = set(config["importlinter"]["root_packages"].split())
    layered = set(config["importlinter:contract:layers"]["layers"].replace(":", " ").replace("|", " ").split())
    ours = {app.name.split(".")[0] for app in apps.get_app_configs()
            if Path(app.path).is_relative_to(ROOT) and "site-packages" not in Path(app.path).parts}
    assert ours <= roots, f"add {sorted(ours - roots)} to root_packages in .importlinter"
    assert ours | {"core"} <= layered, f"put {sorted(ours - layered)} in a layer of .importlinter"


# Kustomer's wire format: JSON:API keys, its URL paths, webhook signing.
WIRE_FORMAT = re.compile(
    r"""["'](attributes|relationships)["']|hmac\.new\(|["']/(v1/)?(customers|conversations|messages|routing|"""
    r"""metadata|users|teams|outbound-webhooks|attachments)\b"""
)
PRODUCT = ("core", "tenants", "integrations", "customfields", "statusmapping", "conversations", "ccaip", "adapter",
           "portal")


def test_only_integrations_kustomer_speaks_kustomers_wire_format():
    speaking = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts and not path.is_relative_to(ROOT / "integrations" / "kustomer")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if WIRE_FORMAT.search(line)
    ]
    assert speaking == [], "\n".join(speaking)
