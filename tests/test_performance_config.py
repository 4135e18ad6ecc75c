"""Two Streamlit settings the portal's capacity rests on (docs/performance.md, "Many users at once"):
no full garbage collection after every script run (100-180 ms with the GIL held, per run) and no
source-file watcher (about 140 ms per new session). A misspelt key would be dropped without a word."""
import tomllib
from pathlib import Path

from streamlit import config

ROOT = Path(__file__).resolve().parent.parent


def test_no_collection_after_each_run_and_no_file_watcher():
    toml = tomllib.loads((ROOT / ".streamlit/config.toml").read_text())
    assert toml["runner"]["postScriptGC"] is False
    assert toml["server"]["fileWatcherType"] == "none"
    assert {"runner.postScriptGC", "server.fileWatcherType"} <= set(config._config_options_template)
