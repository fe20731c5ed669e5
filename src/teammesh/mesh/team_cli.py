"""`teammesh team schema`: the team file's JSON Schema, for editors.

    teammesh team schema > team.schema.json

Editors that read JSON Schema check and complete a TOML team file as it is typed (taplo /
VS Code "Even Better TOML": a `#:schema ./team.schema.json` first line). The same schema is
checked in as `docs/team.schema.json`, held equal to the models by a test."""

from __future__ import annotations

import argparse
import json

from teammesh.mesh.teamfile import team_json_schema

EXIT_USAGE = 2


def schema_text() -> str:
    """The schema as it is printed and checked in: indented, keys in model order."""
    return json.dumps(team_json_schema(), indent=2, ensure_ascii=False) + "\n"


def print_schema(args: argparse.Namespace) -> int:
    print(schema_text(), end="")
    return 0
