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

def cluster_recipe(name, flagfile):
    """The deep-clustering trainer with `flagfile` on the synthetic set's features from a backbone
    trained on another task (train/run_cluster_recipe.sh), or on `--features=`/`--data=` given
    after `--`."""
    native.sh_binary(
        name = name,
        srcs = ["run_cluster_recipe.sh"],
        args = [
            "$(location :deep_cluster)",
            "$(location %s)" % flagfile,
            "$(location :train)",
            "$(location //tools:extract_features)",
            "$(location recipes/endangered_model4.flags)",
        ],
        data = [
            ":deep_cluster",
            ":train",
            "//tools:extract_features",
            "recipes/endangered_model4.flags",
            flagfile,
        ],
    )
