"""A study's table as a Bazel build output: `fauna_table` runs //tables:grid on one grid file at one
scale inside an action whose inputs are all declared (the grid binary and every trainer in its
runfiles, the grid file, the recipes, the studies' numbers, and Fashion-MNIST's files when the
table reads them), and whose outputs are the table's <name>.md, .json and .svg. So
`bazel build //tables:all_ci` regenerates every ci table, is served from the cache when nothing
changed, and reruns exactly the tables whose code, recipes or data changed."""

def _fauna_table_impl(ctx):
    grid = ctx.file.grid
    name = grid.basename[:-len(".json")]
    outputs = [ctx.actions.declare_file(ctx.label.name + "/" + name + ext)
               for ext in [".md", ".json", ".svg"]]
    tool = ctx.attr._grid[DefaultInfo].files_to_run
    data_files = ctx.files.data_files
    env_lines = []
    if data_files:
        env_lines.append("export FAUNA_FASHION_MNIST_DIR=\"$PWD/%s\"" % data_files[0].dirname)
    command = "\n".join([
        "set -euo pipefail",
        # Runs and decoded caches stay inside the action's own temporary folder.
        "work=$(mktemp -d)",
        "trap 'rm -rf \"$work\"' EXIT",
        "export HOME=\"$work/home\" OMP_WAIT_POLICY=PASSIVE",
        "export RUNFILES_DIR=\"$PWD/%s.runfiles\"" % ctx.executable._grid.path,
    ] + env_lines + [
        ("\"%s\" --grids=\"$PWD/%s\" --scale=%s --data=%s --seeds=%d --run_threads=%d " +
         "--out=\"$work/out\" > \"$work/log.txt\" 2>&1 || { tail -n 60 \"$work/log.txt\" >&2; " +
         # The failed runs' own logs are in $work, which goes with the action: show them.
         "grep -rl --include=log.txt '^error:' \"$work/out\" | xargs -r tail -n 15 >&2; " +
         "exit 1; }") % (ctx.executable._grid.path, grid.path, ctx.attr.scale, ctx.attr.data,
                         ctx.attr.seeds, ctx.attr.threads),
        "cp \"$work/out/%s.md\" \"%s\"" % (name, outputs[0].path),
        "cp \"$work/out/%s.json\" \"%s\"" % (name, outputs[1].path),
        "cp \"$work/out/%s.svg\" \"%s\"" % (name, outputs[2].path),
    ])
    ctx.actions.run_shell(
        outputs = outputs,
        inputs = [grid] + data_files,
        tools = [tool],
        command = command,
        mnemonic = "FaunaTable",
        progress_message = "Table %s at the %s scale" % (name, ctx.attr.scale),
        execution_requirements = {"no-remote": "1"},
    )
    return [DefaultInfo(files = depset(outputs))]

fauna_table = rule(
    implementation = _fauna_table_impl,
    doc = "<label.name>/<grid>.{md,json,svg}: the grid file's table at one scale.",
    attrs = {
        "grid": attr.label(allow_single_file = [".json"], mandatory = True),
        "scale": attr.string(default = "ci", values = ["ci", "small", "paper"]),
        "data": attr.string(default = "synthetic"),
        # The data's files, declared as inputs (Fashion-MNIST: @fashion_mnist//:files).
        "data_files": attr.label_list(allow_files = True),
        "seeds": attr.int(default = 1),
        # --threads of every run: fixed, so the numbers do not depend on the machine's cores.
        "threads": attr.int(default = 2),
        # The target configuration: the binaries the rest of the build makes, not a second copy.
        "_grid": attr.label(default = "//tables:grid", executable = True, cfg = "target"),
    },
)
