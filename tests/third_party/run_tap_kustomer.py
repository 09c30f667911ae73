"""Run singer-io's tap-kustomer against another Kustomer base URL.

tap-kustomer 1.1.0 hard-codes `https://api.kustomerapp.com/v1`; this runs its real
`main()` with only that attribute pointed at `TAP_KUSTOMER_BASE_URL` (the sandbox).
Run with the tap's own virtualenv: `.venv-tap-kustomer/bin/python run_tap_kustomer.py
--config ... [--discover | --catalog ...]`.
"""
import os

import tap_kustomer
from tap_kustomer import client as tap_client

_original_init = tap_client.KustomerClient.__init__


def _init(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    self.base_url = os.environ["TAP_KUSTOMER_BASE_URL"].rstrip("/") + "/v1"


tap_client.KustomerClient.__init__ = _init

if __name__ == "__main__":
    tap_kustomer.main()
