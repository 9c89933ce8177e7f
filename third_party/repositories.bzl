"""Repository rules that wire Debian's packages into the build, offline."""

def _debian_rules_cc_impl(ctx):
    src = ctx.attr.path
    if not ctx.path(src).exists:
        fail("rules_cc: %s is missing; run tools/setup.sh (package bazel-rules-cc)" % src)
    result = ctx.execute(["cp", "-R", src + "/.", "."])
    if result.return_code != 0:
        fail("rules_cc: copying %s failed: %s" % (src, result.stderr))

    # The package's WORKSPACE downloads its own dependencies; ours needs none.
    ctx.file("WORKSPACE", 'workspace(name = "rules_cc")\n')

    # bazel-rules-cc 0.0.4 calls use_cpp_toolchain(), which Bazel 4.2.3 lacks.
    for name in ["cc_flags_supplier.bzl", "compiler_flag.bzl"]:
        path = "cc/private/rules_impl/" + name
        text = ctx.read(path)
        text = text.replace(', "use_cpp_toolchain")', ")")
        text = text.replace("use_cpp_toolchain()", '["@bazel_tools//tools/cpp:toolchain_type"]')
        ctx.file(path, text)

debian_rules_cc = repository_rule(
    implementation = _debian_rules_cc_impl,
    attrs = {"path": attr.string(default = "/usr/share/bazel/rules/cc")},
    local = True,
)

_LIBTORCH_ENV = "FAUNA_LIBTORCH"

# Header folders of a LibTorch install, under <root>/include.
_LIBTORCH_HEADER_DIRS = ["ATen", "c10", "caffe2", "torch"]

def _libtorch_repository_impl(ctx):
    """LibTorch from Debian (/usr) or from any unpacked distribution, e.g. an official CUDA one.

    The root comes from --repo_env=FAUNA_LIBTORCH=<dir> (default /usr). Headers are taken from
    <root>/include and the libraries from the first of <root>/lib/<multiarch>, <root>/lib that holds
    libtorch.so.
    """
    root = ctx.os.environ.get(_LIBTORCH_ENV, ctx.attr.default_root)
    include = root + "/include"
    for d in _LIBTORCH_HEADER_DIRS:
        if ctx.path(include + "/" + d).exists:
            ctx.symlink(include + "/" + d, "include/" + d)
    api = include + "/torch/csrc/api/include"
    if not ctx.path(api).exists:
        fail("libtorch: %s not found; install libtorch-dev (tools/setup.sh) or set " % api +
             "--repo_env=%s to an unpacked LibTorch distribution" % _LIBTORCH_ENV)
    ctx.symlink(api, "api")

    libdir = None
    for candidate in [root + "/lib/x86_64-linux-gnu", root + "/lib/aarch64-linux-gnu", root + "/lib"]:
        if ctx.path(candidate + "/libtorch.so").exists:
            libdir = candidate
            break
    if not libdir:
        fail("libtorch: no libtorch.so under %s/lib" % root)

    libs = ["torch", "torch_cpu", "c10"]
    has_cuda = ctx.path(libdir + "/libtorch_cuda.so").exists
    if has_cuda:
        libs += ["torch_cuda", "c10_cuda"]

    # Gloo: Debian ships it as its own package (libgloo-dev, /usr/lib); official distributions link
    # it into libtorch_cpu.
    gloo = []
    for candidate in ["/usr/lib/libgloo.so", "/usr/lib/x86_64-linux-gnu/libgloo.so"]:
        if root == "/usr" and ctx.path(candidate).exists:
            gloo = ["-L" + candidate.rsplit("/", 1)[0], "-lgloo"]
            break

    # --no-as-needed keeps libtorch_cuda linked although no symbol of it is named directly. It stays
    # on (Bazel links with -no-as-needed anyway): turning --as-needed on here would drop the
    # libraries after these (abseil...) from a test whose own objects name none of their symbols,
    # although a project library it loads does.
    linkopts = ["-L" + libdir, "-Wl,-rpath," + libdir, "-Wl,--no-as-needed"]
    linkopts += ["-l" + lib for lib in libs] + gloo + ["-lpthread"]

    ctx.file("BUILD.bazel", """\
load("@rules_cc//cc:defs.bzl", "cc_library")

cc_library(
    name = "libtorch",
    hdrs = glob(["include/**/*.h", "include/**/*.hpp", "include/**/*.cuh", "api/**/*.h"]),
    includes = ["include", "api"],
    defines = ["USE_C10D_GLOO"]{cuda_define},
    linkopts = {linkopts},
    visibility = ["//visibility:public"],
)
""".format(
        linkopts = repr(linkopts),
        cuda_define = ' + ["FAUNA_LIBTORCH_HAS_CUDA"]' if has_cuda else "",
    ))
    ctx.file("WORKSPACE", 'workspace(name = "libtorch")\n')

libtorch_repository = repository_rule(
    implementation = _libtorch_repository_impl,
    attrs = {"default_root": attr.string(default = "/usr")},
    environ = [_LIBTORCH_ENV],
    local = True,
)
