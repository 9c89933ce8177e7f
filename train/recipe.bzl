"""A run target per recipe: `bazel run //train:<name> -- [flags]`."""

def recipe(name, flagfile):
    """The trainer with `flagfile`; flags after `--` override the recipe's."""
    native.sh_binary(
        name = name,
        srcs = ["run_recipe.sh"],
        args = [
            "$(location :train)",
            "$(location %s)" % flagfile,
        ],
        data = [
            ":train",
            flagfile,
        ],
    )
