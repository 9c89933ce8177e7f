"""A run target per recipe: `bazel run //train:<name> -- [flags]`."""

def recipe(name, flagfile, trainer = ":train"):
    """`trainer` (the classifier trainer, or :deep_cluster) with `flagfile`; flags after `--`
    override the recipe's."""
    native.sh_binary(
        name = name,
        srcs = ["run_recipe.sh"],
        args = [
            "$(location %s)" % trainer,
            "$(location %s)" % flagfile,
        ],
        data = [
            trainer,
            flagfile,
        ],
    )
