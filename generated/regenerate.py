"""Rewrite every module of this folder from recipes.json:  python generated/regenerate.py"""

import json
from pathlib import Path

from symdiff import export
from symdiff.api import build

HERE = Path(__file__).parent


def recipes():
    return json.loads((HERE / "recipes.json").read_text(encoding="utf-8"))


def build_recipe(recipe):
    return build(recipe["kind"], [recipe["formula"]], recipe["wrt"], recipe["mode"])


if __name__ == "__main__":
    for recipe in recipes():
        path = export(build_recipe(recipe), HERE / recipe["file"], backend=recipe.get("backend"))
        print("wrote", path)
